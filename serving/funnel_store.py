"""Funnel events and task reports in the store (rules: :mod:`recsys.core.workflows.funnel`; table:
:mod:`recsys.core.workflows.funnel_tables`).

- :class:`FunnelBatch` is what ``serving.events`` uses for exposure, click and add-to-cart events: it checks each
  payload and its references (the creator and the product must exist) and inserts the accepted rows inside the
  batch's transaction, so an event is acknowledged only once it is durable;
- :func:`task_funnel` reads a task's scope (``serving.task_store.task_scope``), its funnel events and its orders
  (commission as the statements compute it, tiers included) in one connection and sums them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from recsys.core.rules.settlement import attach_commission, commission_amount
from recsys.core.schema import SA_TABLES, TABLES
from recsys.core.store import Store
from recsys.core.workflows.funnel import (
    FUNNEL_KINDS,
    FunnelEvent,
    FunnelOrder,
    FunnelReport,
    FunnelScope,
    funnel_report,
    parse_funnel_event,
)
from recsys.core.workflows.funnel_tables import FUNNEL_EVENTS
from serving.task_store import TaskScope, task_scope

__all__ = ["FUNNEL_KINDS", "FunnelBatch", "load_scope", "task_report"]

_CHUNK = 900


def _chunks(values: Sequence[str]) -> Iterator[list[str]]:
    for start in range(0, len(values), _CHUNK):
        yield list(values[start : start + _CHUNK])


def _existing(conn: Connection, table: str, ids: set[str]) -> set[str]:
    column = SA_TABLES[table].c[TABLES[table].key]
    found: set[str] = set()
    for chunk in _chunks(sorted(ids)):
        found.update(str(v) for v in conn.execute(sa.select(column).where(column.in_(chunk))).scalars())
    return found


class FunnelBatch:
    """The funnel events of one ``POST /v1/events`` batch, checked and written in the batch's transaction."""

    def __init__(self, conn: Connection, events: Sequence[Any], received: datetime) -> None:
        self.conn, self.received = conn, received
        self.rows: list[dict[str, Any]] = []
        data = [e.data for e in events if e.kind in FUNNEL_KINDS]
        creators = {str(d.get("creator_id")) for d in data if isinstance(d.get("creator_id"), str)}
        products = {str(d.get("product_id")) for d in data if isinstance(d.get("product_id"), str)}
        self.creators = _existing(conn, "creators", creators) if creators else set()
        self.products = _existing(conn, "products", products) if products else set()

    def add(self, event: Any) -> str | None:
        """Queue ``event`` for writing; the reason (field: why) when it must be quarantined instead."""
        parsed = parse_funnel_event(event.event_id, event.kind, event.data)
        if isinstance(parsed, str):
            return parsed
        if parsed.creator_id not in self.creators:
            return f"creator_id: {parsed.creator_id!r} is not a known creator"
        if parsed.product_id not in self.products:
            return f"product_id: {parsed.product_id!r} is not a known product"
        self.rows.append(
            {
                "event_id": parsed.event_id,
                "kind": parsed.kind,
                "creator_id": parsed.creator_id,
                "product_id": parsed.product_id,
                "content_format": parsed.content_format,
                "task_id": parsed.task_id,
                "count": parsed.count,
                "occurred_at": parsed.occurred_at,
                "received_at": self.received,
            }
        )
        return None

    def write(self) -> None:
        if self.rows:
            self.conn.execute(sa.insert(FUNNEL_EVENTS), self.rows)


# --- reading a task's funnel ----------------------------------------------------------------------------------


def load_scope(store: Store, task_id: str) -> TaskScope | None:
    """The task's scope (``serving.task_store.task_scope``), or None for an unknown task."""
    with store.engine.connect() as conn:
        return task_scope(conn, task_id)


def task_report(store: Store, scope: TaskScope, creator_id: str | None = None) -> FunnelReport:
    """The task's funnel; with ``creator_id``, that creator's figures only (its row, its formats, its total)."""
    creators = scope.creator_ids if creator_id is None else tuple(c for c in scope.creator_ids if c == creator_id)
    funnel_scope = FunnelScope(
        task_id=scope.task_id,
        creator_ids=creators,
        product_ids=scope.product_ids,
        starts_at=scope.starts_at,
        ends_at=scope.ends_at,
        fee_by_creator=scope.fee_by_creator,
    )
    if not creators or not scope.product_ids:
        return funnel_report(funnel_scope, [], [])
    with store.engine.connect() as conn:
        events = _events(conn, funnel_scope)
        orders = _orders(conn, store, funnel_scope)
    return funnel_report(funnel_scope, events, orders)


def _events(conn: Connection, scope: FunnelScope) -> list[FunnelEvent]:
    e = FUNNEL_EVENTS.c
    query = sa.select(FUNNEL_EVENTS).where(
        e.creator_id.in_(scope.creator_ids),
        e.product_id.in_(scope.product_ids),
        sa.or_(e.task_id.is_(None), e.task_id == scope.task_id),
    )
    return [
        FunnelEvent(
            event_id=r["event_id"],
            kind=r["kind"],
            creator_id=r["creator_id"],
            product_id=r["product_id"],
            content_format=r["content_format"],
            occurred_at=r["occurred_at"],
            count=int(r["count"]),
            task_id=r["task_id"],
        )
        for r in conn.execute(query).mappings()
    ]


def _orders(conn: Connection, store: Store, scope: FunnelScope) -> list[FunnelOrder]:
    """Every order of the task's (creator, product) pairs, ever (earlier orders set tiered rates); the pure report
    keeps the window's."""
    orders, promotions = SA_TABLES["orders"], SA_TABLES["promotions"]
    query = (
        sa.select(
            *[orders.c[c] for c in TABLES["orders"].column_names],
            promotions.c.creator_id,
            promotions.c.product_id,
            promotions.c.plan_id,
            promotions.c.format,
        )
        .join_from(orders, promotions, orders.c.promotion_id == promotions.c.promotion_id)
        .where(promotions.c.creator_id.in_(scope.creator_ids), promotions.c.product_id.in_(scope.product_ids))
    )
    frame = pd.DataFrame([dict(r) for r in conn.execute(query).mappings()])
    if frame.empty:
        return []
    frame["created_at"] = pd.to_datetime(frame["created_at"])
    frame["refunded_at"] = pd.to_datetime(frame["refunded_at"])
    plans = store.read_rows("plans", "plan_id", frame["plan_id"].astype(str).unique().tolist(), conn)
    promotions_frame = frame[["promotion_id", "creator_id", "plan_id"]].drop_duplicates("promotion_id")
    rated = attach_commission(frame.drop(columns=["creator_id", "plan_id"]), promotions_frame, plans)
    rated["product_id"] = frame["product_id"].to_numpy()
    rated["format"] = frame["format"].to_numpy()
    return [_funnel_order(record) for record in rated.to_dict("records")]


def _funnel_order(record: dict[Any, Any]) -> FunnelOrder:
    refunded_at = record["refunded_at"]
    return FunnelOrder(
        order_id=str(record["order_id"]),
        creator_id=str(record["creator_id"]),
        product_id=str(record["product_id"]),
        content_format=None if pd.isna(record["format"]) else str(record["format"]),
        created_at=pd.Timestamp(record["created_at"]).to_pydatetime(),
        amount=Decimal(str(record["amount"])),
        commission=commission_amount(str(record["amount"]), str(record["commission_rate"])),
        refunded=str(record["status"]) == "refunded" or not pd.isna(refunded_at),
    )
