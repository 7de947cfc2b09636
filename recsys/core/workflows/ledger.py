"""The commission ledger: order lines with exact money, figures per settlement status, a creator's balance.

Status semantics are :mod:`recsys.core.rules.settlement`'s (pending, settleable, paid, refunded); this module
turns an orders frame (with ``creator_id, product_id, plan_id, commission_rate`` from
:func:`~recsys.core.rules.settlement.attach_commission`) into :class:`LedgerLine` rows whose commission is an exact
``Decimal`` (``amount x rate`` rounded half up to 0.01, once per order) and sums them in ``Decimal``:

- *earned* = the commission of every order before refunds = pending + settleable + paid + refunded, where
  *refunded* is the commission the refunded orders reversed (never paid);
- a creator's *available* balance is the commission of its paid (settled) orders no withdrawal covers yet plus
  the fixed task fees (:class:`FeeLine`, deliverables that passed the merchant's QA) no withdrawal paid yet; a
  withdrawal takes all of it at once and needs at least ``rules.withdrawal_min_balance``. Commission and fee
  figures are kept apart in :class:`Balance`, so a statement says which is which.

Pure functions: storage is ``serving.ledger_store``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

import pandas as pd

from recsys.core.config import RulesSettings
from recsys.core.rules.reasons import Decision
from recsys.core.rules.settlement import (
    MONEY_CONTEXT,
    SETTLEMENT_STATUSES,
    can_withdraw,
    commission_amount,
    money,
    money_sum,
    settlement_status,
)

ZERO = Decimal("0.00")
LINE_COLUMNS: tuple[str, ...] = (
    "order_id",
    "promotion_id",
    "creator_id",
    "product_id",
    "plan_id",
    "amount",
    "commission_rate",
    "created_at",
    "confirmed_at",
    "refunded_at",
    "status",
)
"""Columns :func:`ledger_lines` reads (the orders table plus the promotion's creator, product and plan)."""


@dataclass(frozen=True)
class LedgerLine:
    """One order as the ledger sees it at ``now``: exact amount and commission, settlement status and dates."""

    order_id: str
    promotion_id: str
    creator_id: str
    product_id: str
    plan_id: str
    amount: Decimal
    commission_rate: Decimal
    commission: Decimal  # what the order earns before refunds (refunded: the commission reversed)
    status: str  # settlement status, one of SETTLEMENT_STATUSES
    order_status: str  # stored state: placed | confirmed | refunded | settled
    created_at: datetime
    confirmed_at: datetime | None
    refunded_at: datetime | None
    settleable_at: datetime | None  # confirmed_at + after_sale_days
    withdrawal_id: str | None = None  # the withdrawal that paid it out (paid orders only)


@dataclass
class Figures:
    """Order count, GMV and commission per settlement status, summed exactly."""

    orders: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SETTLEMENT_STATUSES, 0))
    gmv: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(SETTLEMENT_STATUSES, ZERO))
    commission: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(SETTLEMENT_STATUSES, ZERO))

    def add(self, line: LedgerLine) -> None:
        self.orders[line.status] += 1
        self.gmv[line.status] = MONEY_CONTEXT.add(self.gmv[line.status], line.amount)
        self.commission[line.status] = MONEY_CONTEXT.add(self.commission[line.status], line.commission)

    @property
    def earned(self) -> Decimal:
        """Commission of every order before refunds: pending + settleable + paid + refunded."""
        return money_sum(self.commission.values())

    @property
    def owed(self) -> Decimal:
        """Commission still to pay: pending (may yet be refunded) + settleable (due at the next settlement)."""
        return money_sum([self.commission["pending"], self.commission["settleable"]])


def _datetimes(column: pd.Series) -> list[datetime | None]:
    """A datetime column as Python datetimes, missing values as None (one conversion for the whole column)."""
    stamps = pd.to_datetime(column)
    values = stamps.dt.to_pydatetime()
    missing = stamps.isna().to_numpy()
    return [None if gone else value for value, gone in zip(values, missing, strict=True)]


def ledger_lines(
    orders: pd.DataFrame,
    now: datetime | pd.Timestamp,
    settings: RulesSettings,
    withdrawals: Mapping[str, str] | None = None,
) -> list[LedgerLine]:
    """One :class:`LedgerLine` per row of ``orders`` (columns :data:`LINE_COLUMNS`), status at ``now``.

    ``withdrawals`` maps order id → the withdrawal that paid it out. Rows come out ordered by ``created_at``
    then ``order_id``.
    """
    missing = [c for c in LINE_COLUMNS if c not in orders.columns]
    if missing:
        raise ValueError(f"orders frame needs column(s) {', '.join(missing)} (see attach_commission)")
    frame = orders.sort_values(["created_at", "order_id"], kind="stable").reset_index(drop=True)
    statuses = settlement_status(frame, now, settings).tolist()
    window = pd.Timedelta(days=settings.after_sale_days).to_pytimedelta()
    paid_out = withdrawals or {}
    rates: dict[float, Decimal] = {}  # one Decimal per distinct rate
    texts = {c: frame[c].astype(str).tolist() for c in ("order_id", "promotion_id", "creator_id", "product_id")}
    columns = zip(
        texts["order_id"],
        texts["promotion_id"],
        texts["creator_id"],
        texts["product_id"],
        frame["plan_id"].astype(str).tolist(),
        frame["amount"].astype("float64").tolist(),
        frame["commission_rate"].astype("float64").tolist(),
        statuses,
        frame["status"].astype(str).tolist(),
        _datetimes(frame["created_at"]),
        _datetimes(frame["confirmed_at"]),
        _datetimes(frame["refunded_at"]),
        strict=True,
    )
    lines = []
    for order_id, promo, creator, product, plan, amount, rate, status, stored, created, confirmed, refunded in columns:
        exact_rate = rates.setdefault(rate, Decimal(str(rate)))
        exact_amount = money(amount)
        lines.append(
            LedgerLine(
                order_id=order_id,
                promotion_id=promo,
                creator_id=creator,
                product_id=product,
                plan_id=plan,
                amount=exact_amount,
                commission_rate=exact_rate,
                commission=commission_amount(exact_amount, exact_rate),
                status=str(status),
                order_status=stored,
                created_at=created,
                confirmed_at=confirmed,
                refunded_at=refunded,
                settleable_at=None if confirmed is None else confirmed + window,
                withdrawal_id=paid_out.get(order_id),
            )
        )
    return lines


def created_between(lines: Iterable[LedgerLine], start: datetime, end: datetime) -> list[LedgerLine]:
    """The lines of orders created in ``[start, end)``."""
    return [line for line in lines if start <= line.created_at < end]


def figures(lines: Iterable[LedgerLine]) -> Figures:
    """The :class:`Figures` of ``lines``."""
    out = Figures()
    for line in lines:
        out.add(line)
    return out


def figures_by(lines: Iterable[LedgerLine], key: Callable[[LedgerLine], str]) -> dict[str, Figures]:
    """:class:`Figures` per ``key(line)`` (per plan, product, creator), keys sorted."""
    groups: dict[str, Figures] = {}
    for line in lines:
        groups.setdefault(key(line), Figures()).add(line)
    return dict(sorted(groups.items()))


@dataclass(frozen=True)
class FeeLine:
    """The fixed fee of one task deliverable that passed QA: owed to the creator, paid by one withdrawal."""

    deliverable_id: str
    task_id: str
    creator_id: str
    fee: Decimal  # exact yuan (stored as integer fen)
    passed_qa_at: datetime | None
    withdrawal_id: str | None = None  # the withdrawal that paid it out


@dataclass(frozen=True)
class Balance:
    """A creator's money as of now, all periods: what settlements paid, what QA-passed tasks owe in fixed fees,
    what withdrawals took, what is left. ``available`` = ``commission_available`` + ``fees_available``."""

    paid: Decimal  # commission of every settled order
    withdrawn: Decimal  # the sum of the creator's withdrawals (commission and fees)
    available: Decimal  # paid commission and QA-passed fees, not covered by a withdrawal yet
    available_orders: tuple[str, ...]  # the orders a withdrawal now would cover
    commission_available: Decimal = ZERO  # the commission part of ``available``
    fees_owed: Decimal = ZERO  # fixed fees of every deliverable that passed QA, ever
    fees_withdrawn: Decimal = ZERO  # the fees withdrawals paid out
    fees_available: Decimal = ZERO  # the fee part of ``available``
    available_fees: tuple[str, ...] = ()  # the deliverables whose fees a withdrawal now would pay

    def withdrawal(self, settings: RulesSettings) -> Decision:
        """May the creator withdraw its available balance now (at least ``rules.withdrawal_min_balance``)?"""
        return can_withdraw(self.available, settings)


def balance(lines: Iterable[LedgerLine], withdrawn: Decimal, fees: Iterable[FeeLine] = ()) -> Balance:
    """The :class:`Balance` from all of a creator's lines, its QA-passed task fees and the total its withdrawals
    took."""
    paid = [line for line in lines if line.status == "paid"]
    open_lines = [line for line in paid if line.withdrawal_id is None]
    fee_lines = list(fees)
    open_fees = [fee for fee in fee_lines if fee.withdrawal_id is None]
    commission_available = money_sum(line.commission for line in open_lines)
    fees_available = money_sum(fee.fee for fee in open_fees)
    return Balance(
        paid=money_sum(line.commission for line in paid),
        withdrawn=withdrawn,
        available=MONEY_CONTEXT.add(commission_available, fees_available),
        available_orders=tuple(line.order_id for line in open_lines),
        commission_available=commission_available,
        fees_owed=money_sum(fee.fee for fee in fee_lines),
        fees_withdrawn=money_sum(fee.fee for fee in fee_lines if fee.withdrawal_id is not None),
        fees_available=fees_available,
        available_fees=tuple(fee.deliverable_id for fee in open_fees),
    )
