"""Sample requests in the store (``sample_requests``; rules in :mod:`recsys.core.workflows.samples`).

A product's stock is its ``sample_stock`` extra column (empty = unlimited). Approving takes one sample off the
stock in the same transaction as the request's new status (a new revision on both rows), so two approvals of the
last sample cannot both succeed. Content is a promotion already in the store (``POST /v1/events``) of this creator
and product, started after shipping. Every step stamps its own ``*_at`` column.

The creators' 90-day fulfilment rates (:func:`recsys.core.workflows.sample_fulfilment_rates`) are read with every
new matcher state and kept in its cache under :data:`SAMPLE_FULFILMENT_KEY` (see ``serving.runtime``): merchants
see them in creator lists.
"""

from __future__ import annotations

import math
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from recsys.core.schema import EXTRA_COLUMN, SA_TABLES, SAMPLE_REQUESTS
from recsys.core.store import Store
from recsys.core.workflows import (
    FULFILMENT_COLUMNS,
    FULFILMENT_WINDOW_DAYS,
    OPEN_STATUSES,
    SampleAction,
    SampleStatus,
    reason_details,
    request_reasons,
    sample_fulfilment_rates,
    sample_transition,
)
from serving.errors import ApiError
from serving.schemas import SampleRequestPublic

SAMPLE_FULFILMENT_KEY = "sample_fulfilment"
"""Key of the per-creator fulfilment rates in a matcher state's cache."""
REQUEST_COLUMNS = [c.name for c in SAMPLE_REQUESTS.c if c.name != "revision"]
_STAMPS = {
    SampleAction.APPROVE: "approved_at",
    SampleAction.REJECT: "rejected_at",
    SampleAction.SHIP: "shipped_at",
    SampleAction.CONTENT: "content_recorded_at",
}
_STATUS = {
    SampleAction.APPROVE: SampleStatus.APPROVED,
    SampleAction.REJECT: SampleStatus.REJECTED,
    SampleAction.SHIP: SampleStatus.SHIPPED,
    SampleAction.CONTENT: SampleStatus.CONTENT_POSTED,
}


def refused(status: int, codes: list[str], extra: list[dict[str, Any]] | None = None) -> ApiError:
    """422 ``sample_request_refused`` (input breaks a rule) or 409 named by the first reason (state conflict)."""
    details = reason_details(codes) + (extra or [])
    code = "sample_request_refused" if status == 422 else codes[0]
    return ApiError(status, code, f"the sample request step was refused: {details[0]['message']}", details)


def _aware(value: datetime | None) -> datetime | None:
    return None if value is None else value.replace(tzinfo=UTC)


def _stock(extra: Any) -> float | None:
    value = (extra or {}).get("sample_stock") if isinstance(extra, dict) else None
    try:
        stock = float(value) if value is not None else None
    except (TypeError, ValueError):
        return None
    return None if stock is None or not math.isfinite(stock) else max(stock, 0.0)


def product_samples(conn: Connection, product_id: str) -> tuple[str, float | None, dict[str, Any]] | None:
    """The product's merchant, samples left (None: unlimited) and extra columns; None for an unknown product."""
    products = SA_TABLES["products"]
    row = conn.execute(
        sa.select(products.c.merchant_id, products.c[EXTRA_COLUMN]).where(products.c.product_id == product_id)
    ).first()
    if row is None:
        return None
    extra = dict(row[1]) if isinstance(row[1], dict) else {}
    return str(row[0]), _stock(extra), extra


def sample_stock(store: Store, product_id: str) -> float | None:
    with store.engine.connect() as conn:
        found = product_samples(conn, product_id)
    return None if found is None else found[1]


def request_view(record: dict[str, Any], stock: float | None) -> SampleRequestPublic:
    return SampleRequestPublic(
        request_id=record["request_id"],
        product_id=record["product_id"],
        merchant_id=record["merchant_id"],
        creator_id=record["creator_id"],
        status=record["status"],
        note=record["note"],
        requested_at=_aware(record["requested_at"]),
        approved_at=_aware(record["approved_at"]),
        rejected_at=_aware(record["rejected_at"]),
        reject_reason=record["reject_reason"],
        shipped_at=_aware(record["shipped_at"]),
        content_promotion_id=record["content_promotion_id"],
        content_started_at=_aware(record["content_started_at"]),
        sample_stock=None if stock is None else int(stock),
    )


def _load(conn: Connection, request_id: str) -> dict[str, Any] | None:
    query = sa.select(*[SAMPLE_REQUESTS.c[c] for c in REQUEST_COLUMNS]).where(
        SAMPLE_REQUESTS.c.request_id == request_id
    )
    row = conn.execute(query).mappings().first()
    return None if row is None else dict(row)


def load_request(store: Store, request_id: str) -> dict[str, Any] | None:
    with store.engine.connect() as conn:
        return _load(conn, request_id)


def create_request(
    store: Store, product_id: str, merchant_id: str, creator_id: str, note: str | None, now: datetime
) -> dict[str, Any]:
    """A new request (409 ``sample_out_of_stock`` / ``sample_request_open`` when refused)."""
    with store.transaction() as conn:
        found = product_samples(conn, product_id)
        stock = found[1] if found is not None else None
        open_ids = list(
            conn.execute(
                sa.select(SAMPLE_REQUESTS.c.request_id).where(
                    SAMPLE_REQUESTS.c.product_id == product_id,
                    SAMPLE_REQUESTS.c.creator_id == creator_id,
                    SAMPLE_REQUESTS.c.status.in_([s.value for s in OPEN_STATUSES]),
                )
            ).scalars()
        )
        codes = request_reasons(stock, bool(open_ids))
        if codes:
            extra = [{"request_id": open_ids[0]}] if open_ids else []
            raise refused(409, codes, extra)
        record = dict.fromkeys(REQUEST_COLUMNS)
        record.update(
            request_id=f"sr-{secrets.token_hex(6)}",
            product_id=product_id,
            merchant_id=merchant_id,
            creator_id=creator_id,
            status=SampleStatus.REQUESTED.value,
            note=note,
            requested_at=now,
        )
        conn.execute(sa.insert(SAMPLE_REQUESTS).values(**record, revision=store.next_revision(conn)))
    return record


def _content_problem(conn: Connection, record: dict[str, Any], promotion_id: str) -> tuple[str | None, Any]:
    promotions = SA_TABLES["promotions"]
    row = conn.execute(
        sa.select(promotions.c.creator_id, promotions.c.product_id, promotions.c.started_at).where(
            promotions.c.promotion_id == promotion_id
        )
    ).first()
    if row is None:
        return "sample_content_promotion_unknown", None
    if (row[0], row[1]) != (record["creator_id"], record["product_id"]):
        return "sample_content_promotion_mismatch", None
    if row[2] < record["shipped_at"]:
        return "sample_content_before_shipping", None
    return None, row[2]


def apply_action(
    store: Store,
    request_id: str,
    action: SampleAction,
    now: datetime,
    reason: str | None = None,
    promotion_id: str | None = None,
) -> tuple[dict[str, Any], float | None]:
    """Apply ``action`` to the request in one transaction; returns the request and the product's stock after it.
    409 with the reason when the request's state (or the stock) does not allow it, 422 for a bad promotion."""
    with store.transaction() as conn:
        record = _load(conn, request_id)
        if record is None:
            raise ApiError(404, "unknown_sample_request", f"unknown sample request {request_id!r}")
        found = product_samples(conn, record["product_id"])
        stock = found[1] if found is not None else None
        step = sample_transition(record["status"], action, stock)
        if not step.allowed:
            raise refused(409, [step.reason or "sample_request_closed"])
        values: dict[str, Any] = {}
        if action is SampleAction.CONTENT and not step.changes and promotion_id != record["content_promotion_id"]:
            raise refused(409, ["sample_content_already_recorded"])
        if action is SampleAction.CONTENT and step.changes:
            problem, started = _content_problem(conn, record, promotion_id or "")
            if problem is not None:
                raise refused(422, [problem], [{"loc": ["body", "promotion_id"], "msg": problem}])
            values.update(content_promotion_id=promotion_id, content_started_at=started)
        if not step.changes:
            return record, stock
        revision = store.next_revision(conn)
        values.update(status=_STATUS[action].value, revision=revision, **{_STAMPS[action]: now})
        if action is SampleAction.REJECT:
            values["reject_reason"] = reason
        conn.execute(sa.update(SAMPLE_REQUESTS).where(SAMPLE_REQUESTS.c.request_id == request_id).values(**values))
        if action is SampleAction.APPROVE and found is not None and stock is not None:
            stock -= 1
            products = SA_TABLES["products"]
            conn.execute(
                sa.update(products)
                .where(products.c.product_id == record["product_id"])
                .values(**{EXTRA_COLUMN: {**found[2], "sample_stock": stock}}, revision=revision)
            )
        record.update({k: v for k, v in values.items() if k != "revision"})
    return record, stock


def fulfilment_rates(store: Store, now: datetime) -> dict[str, float]:
    """Each creator's sample fulfilment rate at ``now`` (creators without a judged sample left out)."""
    since = now - timedelta(days=FULFILMENT_WINDOW_DAYS)
    query = sa.select(*[SAMPLE_REQUESTS.c[c] for c in FULFILMENT_COLUMNS]).where(SAMPLE_REQUESTS.c.shipped_at >= since)
    with store.engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]
    frame = pd.DataFrame(rows, columns=list(FULFILMENT_COLUMNS))
    return {str(k): round(float(v), 4) for k, v in sample_fulfilment_rates(frame, now).items()}
