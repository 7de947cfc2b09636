"""The commission ledger in the store: statements, withdrawals, settlement runs and order-state checks.

Rules are :mod:`recsys.core.rules.settlement` (statuses, transitions, what a run settles) and
:mod:`recsys.core.workflows.ledger` (exact money, figures, balance); the tables are
:mod:`recsys.core.workflows.ledger_tables`. Fixed task fees (deliverables that passed QA) are part of the balance: a
withdrawal pays them with the commission and marks each paid deliverable's ``withdrawal_id``. Every write here
takes the write lock first (SQLite: the first statement of the transaction writes, so the database's single writer
lock is held before anything is read; PostgreSQL: a row lock), so what it reads afterwards is the latest committed
state on both databases.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from recsys.core.config import Settings
from recsys.core.rules import explain
from recsys.core.rules.settlement import (
    CURRENCY,
    MONEY_CONTEXT,
    attach_commission,
    order_transition,
    settle_due,
)
from recsys.core.schema import REVISIONS, SA_TABLES, TABLES
from recsys.core.store import Store
from recsys.core.workflows.ledger import ZERO, Balance, FeeLine, LedgerLine, balance, ledger_lines
from recsys.core.workflows.ledger_tables import LEDGER_LOCKS, WITHDRAWAL_ORDERS, WITHDRAWALS
from recsys.core.workflows.task_tables import TASK_DELIVERABLES
from recsys.core.workflows.tasks import DeliverableState
from serving.errors import ApiError

_ORDER_COLUMNS = TABLES["orders"].column_names
_CHUNK = 900


def take_write_lock(conn: Connection) -> None:
    """Hold the store's write lock from here to the end of ``conn``'s transaction: a no-op update of the data
    revision row (SQLite: the database's one writer lock; PostgreSQL: that row's lock, which every revision
    writer takes too). Reads after it see every transaction committed before."""
    conn.execute(sa.update(REVISIONS).where(REVISIONS.c.name == "data").values(value=REVISIONS.c.value))


def _lock_creator(conn: Connection, creator_id: str) -> None:
    """Serialise the creator's withdrawals: create its lock row if needed and update it (row lock / write lock)."""
    insert_fn = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    conn.execute(insert_fn(LEDGER_LOCKS).values(creator_id=creator_id, version=0).on_conflict_do_nothing())
    conn.execute(
        sa.update(LEDGER_LOCKS)
        .where(LEDGER_LOCKS.c.creator_id == creator_id)
        .values(version=LEDGER_LOCKS.c.version + 1)
    )


# --- reading the ledger ---------------------------------------------------------------------------------------


def _order_rows(conn: Connection, where: Any) -> pd.DataFrame:
    orders, promotions, products = SA_TABLES["orders"], SA_TABLES["promotions"], SA_TABLES["products"]
    query = (
        sa.select(
            *[orders.c[c] for c in _ORDER_COLUMNS],
            promotions.c.creator_id,
            promotions.c.product_id,
            promotions.c.plan_id,
            products.c.merchant_id,
        )
        .join_from(orders, promotions, orders.c.promotion_id == promotions.c.promotion_id)
        .join(products, products.c.product_id == promotions.c.product_id)
        .where(where)
    )
    rows = [dict(r) for r in conn.execute(query).mappings()]
    frame = pd.DataFrame(rows, columns=[*_ORDER_COLUMNS, "creator_id", "product_id", "plan_id", "merchant_id"])
    for column in ("created_at", "confirmed_at", "refunded_at"):
        frame[column] = pd.to_datetime(frame[column])
    frame["amount"] = pd.to_numeric(frame["amount"]).astype("float64")
    return frame


def _with_rates(conn: Connection, store: Store, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` plus each order's commission rate (tiered plans: the tier reached), via ``attach_commission``."""
    if frame.empty:
        return frame.assign(commission_rate=pd.Series(dtype="float64"))
    plans = store.read_rows("plans", "plan_id", frame["plan_id"].astype(str).unique().tolist(), conn)
    promotions = frame[["promotion_id", "creator_id", "plan_id"]].drop_duplicates("promotion_id")
    rated = attach_commission(frame, promotions, plans)
    return rated


def _paid_out(conn: Connection, where: Any) -> dict[str, str]:
    query = sa.select(WITHDRAWAL_ORDERS.c.order_id, WITHDRAWAL_ORDERS.c.withdrawal_id).where(where)
    return {str(o): str(w) for o, w in conn.execute(query)}


def _has_task_tables(conn: Connection) -> bool:
    """False on a store that predates the task tables (migration 0003): it owes no fees."""
    return sa.inspect(conn).has_table(TASK_DELIVERABLES.name)


def fee_lines(conn: Connection, creator_id: str) -> list[FeeLine]:
    """The creator's fixed task fees owed (deliverables that passed QA, with a fee), oldest QA first."""
    if not _has_task_tables(conn):
        return []
    d = TASK_DELIVERABLES
    query = (
        sa.select(d.c.deliverable_id, d.c.task_id, d.c.fee_fen, d.c.passed_qa_at, d.c.withdrawal_id)
        .where(d.c.creator_id == creator_id, d.c.state == DeliverableState.PASSED_QA.value, d.c.fee_fen > 0)
        .order_by(d.c.passed_qa_at, d.c.deliverable_id)
    )
    return [
        FeeLine(str(dlv), str(task), creator_id, Decimal(int(fen)) / 100, passed, None if wd is None else str(wd))
        for dlv, task, fen, passed, wd in conn.execute(query)
    ]


def creator_ledger(
    store: Store, conn: Connection, creator_id: str, now: datetime, settings: Settings
) -> tuple[list[LedgerLine], Balance]:
    """Every order line of the creator (all periods; tiers need the earlier orders) and its balance at ``now``
    (settled commission and QA-passed task fees)."""
    frame = _with_rates(conn, store, _order_rows(conn, SA_TABLES["promotions"].c.creator_id == creator_id))
    lines = ledger_lines(frame, now, settings.rules, _paid_out(conn, WITHDRAWAL_ORDERS.c.creator_id == creator_id))
    withdrawn_fen = conn.execute(
        sa.select(sa.func.coalesce(sa.func.sum(WITHDRAWALS.c.amount_fen), 0)).where(
            WITHDRAWALS.c.creator_id == creator_id
        )
    ).scalar_one()
    return lines, balance(lines, Decimal(int(withdrawn_fen)) / 100, fee_lines(conn, creator_id))


def merchant_ledger(
    store: Store, conn: Connection, merchant_id: str, before: datetime, now: datetime, settings: Settings
) -> list[LedgerLine]:
    """The order lines of the merchant's products created before ``before`` (earlier ones set tiers)."""
    where = sa.and_(SA_TABLES["products"].c.merchant_id == merchant_id, SA_TABLES["orders"].c.created_at < before)
    frame = _with_rates(conn, store, _order_rows(conn, where))
    return ledger_lines(frame, now, settings.rules, {})


# --- withdrawals ----------------------------------------------------------------------------------------------


MAX_WITHDRAWAL_FEN = 2**63 - 1  # the store's 64-bit integers


def _fen(amount: Decimal) -> int:
    return int(MONEY_CONTEXT.multiply(amount, Decimal(100)).to_integral_value(context=MONEY_CONTEXT))


class _FeesTaken(Exception):
    """A fee the withdrawal meant to pay was already paid by another one: roll back and retry."""


def _fees_paid(conn: Connection, creator_id: str, withdrawal_id: str | None = None) -> dict[str, tuple[int, int]]:
    """Per withdrawal of the creator (or just ``withdrawal_id``): (fees paid, their sum in fen)."""
    if not _has_task_tables(conn):
        return {}
    d = TASK_DELIVERABLES
    query = (
        sa.select(d.c.withdrawal_id, sa.func.count(), sa.func.sum(d.c.fee_fen))
        .where(d.c.creator_id == creator_id, d.c.withdrawal_id.is_not(None))
        .group_by(d.c.withdrawal_id)
    )
    if withdrawal_id is not None:
        query = query.where(d.c.withdrawal_id == withdrawal_id)
    return {str(w): (int(n), int(fen)) for w, n, fen in conn.execute(query)}


def _withdrawal_record(row: Any, fees: tuple[int, int] = (0, 0)) -> dict[str, Any]:
    """The stored withdrawal with exact ``amount`` split into ``commission`` and ``fees`` (``fee_count`` fees)."""
    record = dict(row)
    amount_fen = int(record.pop("amount_fen"))
    record["amount"] = Decimal(amount_fen) / 100
    record["fee_count"], fee_fen = fees
    record["fees"] = Decimal(fee_fen) / 100
    record["commission"] = Decimal(amount_fen - fee_fen) / 100
    return record


def _existing(conn: Connection, creator_id: str, client_key: str) -> dict[str, Any] | None:
    row = (
        conn.execute(
            sa.select(WITHDRAWALS).where(WITHDRAWALS.c.creator_id == creator_id, WITHDRAWALS.c.client_key == client_key)
        )
        .mappings()
        .first()
    )
    if row is None:
        return None
    paid = _fees_paid(conn, creator_id, str(row["withdrawal_id"]))
    return _withdrawal_record(row, paid.get(str(row["withdrawal_id"]), (0, 0)))


def _pay_fees(conn: Connection, creator_id: str, withdrawal_id: str, deliverable_ids: tuple[str, ...]) -> None:
    """Mark the deliverables' fees paid by ``withdrawal_id``; each only if no withdrawal paid it yet (else
    :class:`_FeesTaken`: the transaction rolls back, so a fee is never paid twice)."""
    d = TASK_DELIVERABLES
    marked = 0
    for chunk in _chunks(list(deliverable_ids)):
        result = conn.execute(
            sa.update(d)
            .where(d.c.deliverable_id.in_(chunk), d.c.creator_id == creator_id, d.c.withdrawal_id.is_(None))
            .values(withdrawal_id=withdrawal_id)
        )
        marked += result.rowcount
    if marked != len(deliverable_ids):
        raise _FeesTaken(withdrawal_id)


def below_minimum(available: Decimal, settings: Settings) -> ApiError:
    minimum = Decimal(str(settings.rules.withdrawal_min_balance))
    code = "withdrawal_balance_below_minimum"
    return ApiError(
        409,
        code,
        f"the available balance {available:.2f} {CURRENCY} is below the minimum withdrawal {minimum:.2f}",
        [{"code": code, "message": explain(code), "available": f"{available:.2f}", "minimum": f"{minimum:.2f}"}],
    )


def _withdraw(
    store: Store, conn: Connection, creator_id: str, client_key: str, now: datetime, settings: Settings
) -> tuple[dict[str, Any], bool]:
    _lock_creator(conn, creator_id)
    found = _existing(conn, creator_id, client_key)
    if found is not None:
        return found, False
    lines, bal = creator_ledger(store, conn, creator_id, now, settings)
    if not bal.withdrawal(settings.rules) or bal.available <= ZERO:
        raise below_minimum(bal.available, settings)
    if _fen(bal.available) > MAX_WITHDRAWAL_FEN:
        message = f"the available balance {bal.available:.2f} {CURRENCY} is too large for one withdrawal"
        raise ApiError(409, "withdrawal_amount_too_large", message, [{"available": f"{bal.available:.2f}"}])
    covered = [line for line in lines if line.order_id in set(bal.available_orders)]
    withdrawal_id = f"wd-{secrets.token_hex(6)}"
    record = {
        "withdrawal_id": withdrawal_id,
        "creator_id": creator_id,
        "client_key": client_key,
        "amount_fen": _fen(bal.available),
        "currency": CURRENCY,
        "order_count": len(covered),
        "status": "paid",
        "created_at": now,
    }
    conn.execute(sa.insert(WITHDRAWALS).values(**record))
    _pay_fees(conn, creator_id, withdrawal_id, bal.available_fees)
    if covered:  # a withdrawal of fees only covers no order
        conn.execute(
            sa.insert(WITHDRAWAL_ORDERS),
            [
                {
                    "order_id": line.order_id,
                    "withdrawal_id": withdrawal_id,
                    "creator_id": creator_id,
                    "commission_fen": _fen(line.commission),
                }
                for line in covered
            ],
        )
    return _withdrawal_record(record, (len(bal.available_fees), _fen(bal.fees_available))), True


def create_withdrawal(
    store: Store, creator_id: str, client_key: str, now: datetime, settings: Settings, attempts: int = 4
) -> tuple[dict[str, Any], bool]:
    """Withdraw the creator's whole available balance, once per ``client_key``: returns the withdrawal and whether
    this call created it (False: the key's earlier withdrawal, unchanged). 409 ``withdrawal_balance_below_minimum``
    under ``rules.withdrawal_min_balance``. The balance is settled commission plus QA-passed task fees. A
    transaction that lost a race (unique keys, or a fee already marked paid) is retried: it then finds the
    winner's withdrawal (same key) or the orders and fees already paid out (another key)."""
    for attempt in range(attempts):
        try:
            with store.transaction() as conn:
                return _withdraw(store, conn, creator_id, client_key, now, settings)
        except (IntegrityError, _FeesTaken):
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def list_withdrawals(store: Store, creator_id: str) -> list[dict[str, Any]]:
    query = (
        sa.select(WITHDRAWALS)
        .where(WITHDRAWALS.c.creator_id == creator_id)
        .order_by(WITHDRAWALS.c.created_at.desc(), WITHDRAWALS.c.withdrawal_id)
    )
    with store.engine.connect() as conn:
        fees = _fees_paid(conn, creator_id)
        return [
            _withdrawal_record(r, fees.get(str(r["withdrawal_id"]), (0, 0))) for r in conn.execute(query).mappings()
        ]


# --- settlement runs ------------------------------------------------------------------------------------------


@dataclass
class SettlementRun:
    """What one ``recsys settle`` run did."""

    as_of: datetime
    orders: int = 0
    amount: Decimal = ZERO
    per_creator: dict[str, tuple[int, Decimal]] = field(default_factory=dict)
    revision: int | None = None


def _chunks(values: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def settle_orders(store: Store, as_of: datetime, settings: Settings) -> SettlementRun:
    """Settle, in one transaction, every order :func:`settle_due` picks at ``as_of``: its status becomes
    ``settled`` (paid to the creator's balance) with a new store revision. A second run settles nothing."""
    run = SettlementRun(as_of)
    orders, promotions = SA_TABLES["orders"], SA_TABLES["promotions"]
    with store.transaction() as conn:
        take_write_lock(conn)
        candidates = _order_rows(conn, sa.and_(orders.c.status == "confirmed", orders.c.refunded_at.is_(None)))
        due_ids = set(candidates.loc[settle_due(candidates, as_of, settings.rules), "order_id"].astype(str))
        if not due_ids:
            return run
        creators = sorted(set(candidates.loc[candidates["order_id"].isin(due_ids), "creator_id"].astype(str)))
        lines: list[LedgerLine] = []
        for chunk in _chunks(creators):
            lines += ledger_lines(
                _with_rates(conn, store, _order_rows(conn, promotions.c.creator_id.in_(chunk))), as_of, settings.rules
            )
        run.revision = store.next_revision(conn)
        for chunk in _chunks(sorted(due_ids)):
            conn.execute(
                sa.update(orders)
                .where(orders.c.order_id.in_(chunk), orders.c.status == "confirmed")
                .values(status="settled", revision=run.revision)
            )
        for line in lines:
            if line.order_id in due_ids:
                count, amount = run.per_creator.get(line.creator_id, (0, ZERO))
                run.per_creator[line.creator_id] = (count + 1, MONEY_CONTEXT.add(amount, line.commission))
                run.orders += 1
                run.amount = MONEY_CONTEXT.add(run.amount, line.commission)
    return run


# --- order events ---------------------------------------------------------------------------------------------


def order_transition_problems(
    conn: Connection, good: pd.DataFrame, now: datetime, settings: Settings
) -> list[str | None]:
    """For each validated order row of an event batch: None when its state may replace the stored order's, else
    the reason (``order_transition``). Takes the write lock first, so a settlement run cannot slip in between."""
    take_write_lock(conn)
    orders = SA_TABLES["orders"]
    ids = good["order_id"].astype(str).tolist()
    stored: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(ids):
        query = sa.select(orders.c.order_id, orders.c.status, orders.c.amount, orders.c.promotion_id).where(
            orders.c.order_id.in_(chunk)
        )
        stored.update({str(r["order_id"]): dict(r) for r in conn.execute(query).mappings()})
    problems: list[str | None] = []
    rows = cast(list[dict[str, Any]], good.to_dict("records"))
    for row in rows:
        previous = stored.get(str(row["order_id"]))
        decision = order_transition(previous, row, now, settings.rules)
        if decision.ok:
            problems.append(None)
            continue
        code = decision.reasons[0]
        old = "new" if previous is None else previous["status"]
        problems.append(f"status: {old} -> {row['status']} refused ({code}): {explain(code)}")
    return problems
