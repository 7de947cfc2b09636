"""Tasks in the store (tables in :mod:`recsys.core.workflows.task_tables`, rules in
:mod:`recsys.core.workflows.tasks`): who is on a task, what it covers, and the fees it owes.

:func:`task_scope` is what other task features (the funnel report) read: the task's merchant, products, accepted
creators, dates and the fixed fees owed per creator. It takes an open ``sqlalchemy.Connection`` (from
``store.engine.connect()`` or inside ``store.transaction()``), like the reads in ``serving.invite_store``.
Writes (tasks, invitations, applications, deliverables, submissions) live in :mod:`serving.task_writes`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from recsys.core.store import Store
from recsys.core.workflows.task_tables import (
    TASK_CREATORS,
    TASK_DELIVERABLE_TRANSITIONS,
    TASK_DELIVERABLES,
    TASK_PRODUCTS,
    TASK_SUBMISSIONS,
    TASKS,
)
from recsys.core.workflows.tasks import DeliverableState, TaskCreatorStatus, TaskStatus, to_yuan
from serving.auth import Principal
from serving.schemas.statements import TaskFeeLine, TaskFees, TaskFeeSettlement


def aware(value: datetime | None) -> datetime | None:
    """A stored naive UTC datetime as a timezone-aware one."""
    return None if value is None else value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class TaskScope:
    """What a task covers, for reports: its merchant, products, accepted creators, dates and fees owed."""

    task_id: str
    merchant_id: str
    product_ids: tuple[str, ...]
    creator_ids: tuple[str, ...]  # creators accepted on the task (applied+accepted or invited+accepted)
    starts_at: datetime  # timezone-aware UTC
    ends_at: datetime | None
    fee_by_creator: Mapping[str, float] = field(default_factory=dict)  # fixed fees owed (passed QA), CNY


def task_product_ids(conn: sa.Connection, task_id: str) -> list[str]:
    """The task's product ids in the order the merchant listed them."""
    query = sa.select(TASK_PRODUCTS.c.product_id).where(TASK_PRODUCTS.c.task_id == task_id)
    return [str(p) for p in conn.execute(query.order_by(TASK_PRODUCTS.c.position)).scalars()]


def task_scope(conn: sa.Connection, task_id: str) -> TaskScope | None:
    """The scope of ``task_id``, or None for an unknown task (or a store without task tables yet)."""
    if not sa.inspect(conn).has_table(TASKS.name):
        return None
    task = conn.execute(sa.select(TASKS).where(TASKS.c.task_id == task_id)).mappings().first()
    if task is None:
        return None
    products = task_product_ids(conn, task_id)
    creators = conn.execute(
        sa.select(TASK_CREATORS.c.creator_id)
        .where(TASK_CREATORS.c.task_id == task_id, TASK_CREATORS.c.status == TaskCreatorStatus.ACCEPTED.value)
        .order_by(TASK_CREATORS.c.creator_id)
    ).scalars()
    return TaskScope(
        task_id=task_id,
        merchant_id=str(task["merchant_id"]),
        product_ids=tuple(products),
        creator_ids=tuple(str(c) for c in creators),
        starts_at=aware(task["starts_at"]) or datetime.now(UTC),
        ends_at=aware(task["ends_at"]),
        fee_by_creator={c: to_yuan(f) for c, f in fees_owed_fen(conn, task_id=task_id).items()},
    )


def may_view_task_figures(principal: Principal, scope: TaskScope) -> bool:
    """Submissions and figures of a task: the admin, the task's merchant and its accepted creators."""
    return (
        principal.is_admin
        or principal.is_merchant(scope.merchant_id)
        or (principal.is_creator() and principal.tenant_id in scope.creator_ids)
    )


def fees_owed_fen(
    conn: sa.Connection, task_id: str | None = None, creator_id: str | None = None, merchant_id: str | None = None
) -> dict[str, int]:
    """Fixed fees owed (deliverables that passed QA) in fen, per creator; restricted to one task, creator or
    merchant's tasks."""
    d = TASK_DELIVERABLES
    query = (
        sa.select(d.c.creator_id, sa.func.sum(d.c.fee_fen))
        .where(d.c.state == DeliverableState.PASSED_QA.value, d.c.fee_fen > 0)
        .group_by(d.c.creator_id)
    )
    if task_id is not None:
        query = query.where(d.c.task_id == task_id)
    if creator_id is not None:
        query = query.where(d.c.creator_id == creator_id)
    if merchant_id is not None:
        query = query.where(d.c.task_id.in_(sa.select(TASKS.c.task_id).where(TASKS.c.merchant_id == merchant_id)))
    return {str(c): int(f) for c, f in conn.execute(query)}


def load_task(store: Store, task_id: str) -> dict[str, Any] | None:
    """The task row with ``product_ids``, or None."""
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(TASKS).where(TASKS.c.task_id == task_id)).mappings().first()
        if row is None:
            return None
        return {**dict(row), "product_ids": task_product_ids(conn, task_id)}


def list_tasks(store: Store, merchant_id: str | None = None, open_at: datetime | None = None) -> list[dict[str, Any]]:
    """Tasks (each with ``product_ids``), newest first: one merchant's, or every task open at ``open_at``."""
    query = sa.select(TASKS).order_by(TASKS.c.created_at.desc(), TASKS.c.task_id)
    if merchant_id is not None:
        query = query.where(TASKS.c.merchant_id == merchant_id)
    if open_at is not None:
        query = query.where(
            TASKS.c.status == TaskStatus.OPEN.value, sa.or_(TASKS.c.ends_at.is_(None), TASKS.c.ends_at > open_at)
        )
    with store.engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]
        ids = [r["task_id"] for r in rows]
        products: dict[str, list[str]] = {i: [] for i in ids}
        if ids:
            links = conn.execute(
                sa.select(TASK_PRODUCTS.c.task_id, TASK_PRODUCTS.c.product_id)
                .where(TASK_PRODUCTS.c.task_id.in_(ids))
                .order_by(TASK_PRODUCTS.c.task_id, TASK_PRODUCTS.c.position)
            )
            for task_id, product_id in links:
                products[str(task_id)].append(str(product_id))
    return [{**r, "product_ids": products[r["task_id"]]} for r in rows]


def task_creators(store: Store, task_ids: list[str], creator_id: str | None = None) -> list[dict[str, Any]]:
    """The invitations and applications of ``task_ids`` (one creator's only, with ``creator_id``)."""
    if not task_ids:
        return []
    query = (
        sa.select(TASK_CREATORS)
        .where(TASK_CREATORS.c.task_id.in_(task_ids))
        .order_by(TASK_CREATORS.c.created_at, TASK_CREATORS.c.creator_id)
    )
    if creator_id is not None:
        query = query.where(TASK_CREATORS.c.creator_id == creator_id)
    with store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def creator_entry(store: Store, task_id: str, creator_id: str) -> dict[str, Any] | None:
    found = task_creators(store, [task_id], creator_id)
    return found[0] if found else None


def list_deliverables(store: Store, task_id: str, creator_id: str | None = None) -> list[dict[str, Any]]:
    """The task's deliverables (one creator's with ``creator_id``), each with its ``history`` oldest first."""
    d, t = TASK_DELIVERABLES, TASK_DELIVERABLE_TRANSITIONS
    query = sa.select(d).where(d.c.task_id == task_id).order_by(d.c.creator_id, d.c.format, d.c.unit)
    if creator_id is not None:
        query = query.where(d.c.creator_id == creator_id)
    with store.engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]
        history: dict[str, list[dict[str, Any]]] = {r["deliverable_id"]: [] for r in rows}
        if rows:
            steps = conn.execute(sa.select(t).where(t.c.deliverable_id.in_(list(history))).order_by(t.c.id)).mappings()
            for step in steps:
                history[step["deliverable_id"]].append(dict(step))
    return [{**r, "history": history[r["deliverable_id"]]} for r in rows]


def load_deliverable(store: Store, deliverable_id: str) -> dict[str, Any] | None:
    d = TASK_DELIVERABLES
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(d).where(d.c.deliverable_id == deliverable_id)).mappings().first()
    return None if row is None else dict(row)


def list_submissions(store: Store, task_id: str, creator_id: str | None = None) -> list[dict[str, Any]]:
    """The task's submissions, oldest first (one creator's with ``creator_id``)."""
    s = TASK_SUBMISSIONS
    query = sa.select(s).where(s.c.task_id == task_id).order_by(s.c.submitted_at, s.c.submission_id)
    if creator_id is not None:
        query = query.where(s.c.creator_id == creator_id)
    with store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def load_submission(store: Store, submission_id: str) -> dict[str, Any] | None:
    s = TASK_SUBMISSIONS
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(s).where(s.c.submission_id == submission_id)).mappings().first()
    return None if row is None else dict(row)


# --- fees in statements -------------------------------------------------------------------------------------------


def statement_fees(
    conn: sa.Connection,
    period: tuple[datetime, datetime],
    creator_id: str | None = None,
    merchant_id: str | None = None,
) -> TaskFees | None:
    """The fixed task fees of a creator's or a merchant's statement: owed in ``period`` (QA passed within it, per
    task and creator), in total, paid by withdrawals and still available (per task and creator too); None when no
    fee was ever owed (or the store has no task tables yet)."""
    if not sa.inspect(conn).has_table(TASK_DELIVERABLES.name):
        return None
    d = TASK_DELIVERABLES
    query = sa.select(d.c.task_id, d.c.creator_id, d.c.fee_fen, d.c.passed_qa_at, d.c.withdrawal_id).where(
        d.c.state == DeliverableState.PASSED_QA.value, d.c.fee_fen > 0
    )
    if creator_id is not None:
        query = query.where(d.c.creator_id == creator_id)
    if merchant_id is not None:
        query = query.where(d.c.task_id.in_(sa.select(TASKS.c.task_id).where(TASKS.c.merchant_id == merchant_id)))
    rows = conn.execute(query).all()
    if not rows:
        return None
    lines: dict[tuple[str, str], list[int]] = {}
    settled: dict[tuple[str, str], list[int]] = {}  # [passed QA, paid, owed fen, paid fen]
    for task_id, creator, fee, passed_at, withdrawal_id in rows:
        pair, paid = (str(task_id), str(creator)), withdrawal_id is not None
        if passed_at is not None and period[0] <= passed_at < period[1]:
            line = lines.setdefault(pair, [0, 0])
            line[0] += 1
            line[1] += int(fee)
        total = settled.setdefault(pair, [0, 0, 0, 0])
        total[0], total[1] = total[0] + 1, total[1] + int(paid)
        total[2], total[3] = total[2] + int(fee), total[3] + (int(fee) if paid else 0)
    withdrawn = sum(t[3] for t in settled.values())
    owed = sum(int(r[2]) for r in rows)
    return TaskFees(
        owed_in_period=fen_text(sum(fee for _, fee in lines.values())),
        owed_total=fen_text(owed),
        available=fen_text(owed - withdrawn),
        withdrawn=fen_text(withdrawn),
        lines=[
            TaskFeeLine(task_id=t, creator_id=c, deliverables_passed_qa=n, owed=fen_text(fee))
            for (t, c), (n, fee) in sorted(lines.items())
        ],
        settlement=[_settlement(t, c, *figures) for (t, c), figures in sorted(settled.items())],
    )


def _settlement(
    task_id: str, creator_id: str, passed: int, paid: int, owed_fen: int, paid_fen: int
) -> TaskFeeSettlement:
    return TaskFeeSettlement(
        task_id=task_id,
        creator_id=creator_id,
        deliverables_passed_qa=passed,
        deliverables_paid=paid,
        owed=fen_text(owed_fen),
        paid=fen_text(paid_fen),
        unpaid=fen_text(owed_fen - paid_fen),
    )


def fen_text(fen: int) -> str:
    """Integer fen -> ``"1234.50"`` (exact)."""
    return f"{Decimal(fen) / 100:.2f}"
