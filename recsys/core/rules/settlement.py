"""Settlement of order commissions, a creator's statement over a period, and withdrawal.

Status of an order's commission at ``now`` (first matching row wins):

==========  =================================================================================================
refunded    ``status == "refunded"`` or a ``refunded_at`` is recorded (at any time): pays nothing, ever
pending     not confirmed yet, or ``now < confirmed_at + after_sale_days`` (default 15 days, setting 7–15)
paid        ``status == "settled"`` in the orders table (and the after-sale window is over)
settleable  confirmed and the after-sale window is over, not paid yet
==========  =================================================================================================

An order's commission is ``amount x commission_rate``; :func:`attach_commission` finds the rate through the
order's promotion and plan (tiered plans: the tier reached by the creator's earlier, non-refunded orders on
that plan in the plan period, counted in units = orders or in GMV per ``tier_basis``). Money that is summed and
paid is exact: :func:`commission_amount` is ``Decimal(amount) x Decimal(rate)`` rounded half up to the fen (0.01).

Order states (stored ``status``) move forward only (:func:`order_transition`)::

    placed ──► confirmed ──► settled          (settled: paid to the creator's balance; final)
       └──────────┴────────► refunded         (final; a settled order can no longer be refunded)

An order becomes ``settled`` once confirmed and its after-sale window is over (:func:`settle_due`, the
``recsys settle`` command); resending a state it already has changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Any

import numpy as np
import pandas as pd

from recsys.core.config import RulesSettings
from recsys.core.rules._columns import as_timestamp, require_timestamp, times_ns
from recsys.core.rules.commission import rate_at, tier_matrix
from recsys.core.rules.inputs import PlanTerms
from recsys.core.rules.reasons import Decision
from recsys.core.vocab import PlanType

SETTLEMENT_STATUSES: tuple[str, ...] = ("pending", "settleable", "paid", "refunded")
CURRENCY = "CNY"
"""The currency of every amount (yuan); the API sends money as decimal strings with two places."""
FEN = Decimal("0.01")
MONEY_CONTEXT = Context(prec=400, rounding=ROUND_HALF_UP)
"""Decimal arithmetic wide enough for any float amount to the fen (1e308 has 309 digits): never rounds a sum,
never raises on quantizing a huge amount."""


def money(value: float | int | str | Decimal) -> Decimal:
    """``value`` as an exact Decimal rounded half up to the fen; floats go through their shortest repr, so
    ``129.9`` is ``Decimal("129.90")``, never ``129.900000000000005684...``."""
    exact = value if isinstance(value, Decimal) else Decimal(str(value))
    return exact.quantize(FEN, context=MONEY_CONTEXT)


def commission_amount(amount: float | str | Decimal, rate: float | str | Decimal) -> Decimal:
    """One order's commission: ``amount x rate`` in exact decimal, rounded half up to 0.01 (once, per order)."""
    exact_amount = amount if isinstance(amount, Decimal) else Decimal(str(amount))
    exact_rate = rate if isinstance(rate, Decimal) else Decimal(str(rate))
    return MONEY_CONTEXT.multiply(exact_amount, exact_rate).quantize(FEN, context=MONEY_CONTEXT)


def money_sum(values: Iterable[Decimal]) -> Decimal:
    """The exact sum of ``values`` (0.00 when empty), in :data:`MONEY_CONTEXT`."""
    total = Decimal("0.00")
    for value in values:
        total = MONEY_CONTEXT.add(total, value)
    return total


@dataclass(frozen=True)
class OrderSettlement:
    status: str  # one of SETTLEMENT_STATUSES
    settleable_at: pd.Timestamp | None  # confirmed_at + after_sale_days
    decision: Decision  # ok: the commission is payable (settleable or paid); otherwise why not

    @property
    def pays(self) -> bool:
        return self.decision.ok


def order_settlement(
    order: Mapping[str, Any], now: datetime | pd.Timestamp, settings: RulesSettings
) -> OrderSettlement:
    """Settlement status of one order (a mapping with ``status, confirmed_at, refunded_at``)."""
    now_ts = require_timestamp(now, "now", "now")
    confirmed = as_timestamp(order.get("confirmed_at"), "order", "confirmed_at")
    refunded = as_timestamp(order.get("refunded_at"), "order", "refunded_at")
    settleable_at = None if confirmed is None else confirmed + pd.Timedelta(days=settings.after_sale_days)
    if order.get("status") == "refunded" or refunded is not None:
        return OrderSettlement("refunded", settleable_at, Decision.refuse("order_refunded"))
    if settleable_at is None:
        return OrderSettlement("pending", None, Decision.refuse("order_not_confirmed"))
    if now_ts < settleable_at:
        return OrderSettlement("pending", settleable_at, Decision.refuse("order_in_after_sale_window"))
    status = "paid" if order.get("status") == "settled" else "settleable"
    return OrderSettlement(status, settleable_at, Decision.accept())


def settlement_status(orders: pd.DataFrame, now: datetime | pd.Timestamp, settings: RulesSettings) -> np.ndarray:
    """Vectorized :func:`order_settlement` status per order row (object array of SETTLEMENT_STATUSES)."""
    t = int(require_timestamp(now, "now", "now").as_unit("ns").value)
    status = orders["status"].astype(str).to_numpy(dtype=object)
    confirmed = times_ns(orders["confirmed_at"], "orders", "confirmed_at", required=False)
    refunded_at = times_ns(orders["refunded_at"], "orders", "refunded_at", required=False)
    never = np.iinfo(np.int64).max
    window = int(pd.Timedelta(days=settings.after_sale_days).value)
    confirmed_known = confirmed != never
    over = confirmed_known & (t >= np.where(confirmed_known, confirmed, 0) + window)
    refunded = (status == "refunded") | (refunded_at != never)
    out = np.full(len(orders), "pending", dtype=object)
    out[over & (status == "settled")] = "paid"
    out[over & (status != "settled")] = "settleable"
    out[refunded] = "refunded"
    return out


def attach_commission(orders: pd.DataFrame, promotions: pd.DataFrame, plans: pd.DataFrame) -> pd.DataFrame:
    """``orders`` plus ``creator_id, plan_id, commission_rate, commission`` (amount x rate; 0 when refunded).

    An order whose promotion or plan is unknown raises ``ValueError`` naming the order.
    """
    out = orders.copy()
    promo = promotions.set_index(promotions["promotion_id"].astype(str))
    keys = out["promotion_id"].astype(str)
    missing = ~keys.isin(promo.index)
    if missing.any():
        row = int(np.flatnonzero(missing.to_numpy())[0])
        raise ValueError(f"orders row {row}: promotion_id {keys.iloc[row]!r} is not in promotions")
    out["creator_id"] = promo["creator_id"].astype(str).reindex(keys).to_numpy()
    out["plan_id"] = promo["plan_id"].astype(str).reindex(keys).to_numpy()
    wanted = set(out["plan_id"])
    terms = {p.plan_id: p for p in PlanTerms.from_frame(plans[plans["plan_id"].astype(str).isin(wanted)])}
    unknown = [pid for pid in out["plan_id"] if pid not in terms]
    if unknown:
        raise ValueError(f"orders reference plan_id {unknown[0]!r}, which is not in plans")
    rates = np.array([terms[pid].commission_rate for pid in out["plan_id"]], dtype=np.float64)
    refunded = (out["status"].astype(str) == "refunded").to_numpy() | out["refunded_at"].notna().to_numpy()
    tiered_ids = [pid for pid in wanted if terms[pid].plan_type == PlanType.TIERED]
    if tiered_ids:
        created = pd.to_datetime(out["created_at"])
        for pid in tiered_ids:
            plan = terms[pid]
            rows = np.flatnonzero((out["plan_id"] == pid).to_numpy())
            in_period = (created.iloc[rows] >= plan.starts_at).to_numpy()
            if plan.ends_at is not None:
                in_period = in_period & (created.iloc[rows] < plan.ends_at).to_numpy()  # to_numpy may be read-only
            counted = in_period & ~refunded[rows]
            block = pd.DataFrame(
                {
                    "creator": out["creator_id"].iloc[rows].to_numpy(),
                    "created": created.iloc[rows].to_numpy(),
                    "order": out["order_id"].astype(str).iloc[rows].to_numpy(),
                    "units": counted.astype(np.float64),
                    "gmv": np.where(counted, out["amount"].to_numpy(dtype=np.float64)[rows], 0.0),
                }
            ).sort_values(["creator", "created", "order"], kind="stable")
            basis = "gmv" if plan.tier_basis == "gmv" else "units"
            before = block.groupby("creator")[basis].cumsum() - block[basis]
            amount_before = before.reindex(range(len(rows))).to_numpy()
            rates[rows] = rate_at(
                np.full(len(rows), plan.commission_rate),
                np.repeat(tier_matrix([plan.tiers]), len(rows), 0),
                amount_before,
            )
    out["commission_rate"] = rates
    out["commission"] = np.where(refunded, 0.0, out["amount"].to_numpy(dtype=np.float64) * rates)
    return out


@dataclass(frozen=True)
class CreatorStatement:
    """A creator's orders created in ``[period_start, period_end)``, by settlement status at ``now``."""

    creator_id: str
    period_start: pd.Timestamp
    period_end: pd.Timestamp
    now: pd.Timestamp
    orders: dict[str, int] = field(default_factory=dict)
    gmv: dict[str, float] = field(default_factory=dict)
    commission: dict[str, float] = field(default_factory=dict)  # refunded: always 0
    forfeited_commission: float = 0.0  # commission the refunded orders would have paid

    def to_dict(self) -> dict[str, Any]:
        return {
            "creator_id": self.creator_id,
            "period_start": self.period_start.isoformat(),
            "period_end": self.period_end.isoformat(),
            "now": self.now.isoformat(),
            "statuses": {
                s: {"orders": self.orders[s], "gmv": self.gmv[s], "commission": self.commission[s]}
                for s in SETTLEMENT_STATUSES
            },
            "forfeited_commission": self.forfeited_commission,
        }


def creator_statement(
    orders: pd.DataFrame,
    creator_id: str,
    period_start: datetime | pd.Timestamp,
    period_end: datetime | pd.Timestamp,
    now: datetime | pd.Timestamp,
    settings: RulesSettings,
) -> CreatorStatement:
    """Counts, GMV and commission per settlement status for one creator's orders in the period.

    ``orders`` is the orders frame plus ``creator_id`` and ``commission_rate`` (:func:`attach_commission`).
    """
    start = require_timestamp(period_start, "period_start", "period_start")
    end = require_timestamp(period_end, "period_end", "period_end")
    now_ts = require_timestamp(now, "now", "now")
    if not end > start:
        raise ValueError(f"period_end {end} must be after period_start {start}")
    for column in ("creator_id", "commission_rate", "amount", "created_at", "status"):
        if column not in orders.columns:
            raise ValueError(f"orders frame needs column {column!r} (see attach_commission)")
    created = pd.to_datetime(orders["created_at"])
    mine = orders[
        ((orders["creator_id"].astype(str) == str(creator_id)) & (created >= start) & (created < end)).to_numpy()
    ]
    status = settlement_status(mine, now_ts, settings)
    amount = mine["amount"].to_numpy(dtype=np.float64)
    due = amount * mine["commission_rate"].to_numpy(dtype=np.float64)
    counts, gmv, commission = {}, {}, {}
    for s in SETTLEMENT_STATUSES:
        rows = status == s
        counts[s] = int(rows.sum())
        gmv[s] = float(amount[rows].sum())
        commission[s] = 0.0 if s == "refunded" else float(due[rows].sum())
    forfeited = float(due[status == "refunded"].sum())
    return CreatorStatement(str(creator_id), start, end, now_ts, counts, gmv, commission, forfeited)


def can_withdraw(settled_balance: float | Decimal, settings: RulesSettings) -> Decision:
    """A withdrawal needs a settled balance of at least ``withdrawal_min_balance`` (default 100)."""
    if settled_balance >= settings.withdrawal_min_balance:
        return Decision.accept()
    return Decision.refuse("withdrawal_balance_below_minimum")


ORDER_STATES: tuple[str, ...] = ("placed", "confirmed", "refunded", "settled")
"""The stored order states (``recsys.core.schema.ORDER_STATUSES``), in the order they may be reached."""
_FINAL = {"refunded": "order_already_refunded", "settled": "order_already_settled"}


def order_transition(
    previous: Mapping[str, Any] | None,
    new: Mapping[str, Any],
    now: datetime | pd.Timestamp,
    settings: RulesSettings,
) -> Decision:
    """May an order event (``new``: ``status, confirmed_at, amount, promotion_id``) replace the stored order
    (``previous``; None for a new order)? Refused: leaving a final state (``refunded``, ``settled`` — a settled
    order's amount and promotion are fixed too), going back (confirmed → placed) and settling an order that is
    not confirmed or still in its after-sale window at ``now``. The same state again is allowed (no change)."""
    status = str(new.get("status"))
    old = None if previous is None else str(previous.get("status"))
    if old in _FINAL:
        same = old == status and all(previous.get(k) == new.get(k) for k in ("amount", "promotion_id"))  # type: ignore[union-attr]
        return Decision.accept() if same else Decision.refuse(_FINAL[old])
    if old == "confirmed" and status == "placed":
        return Decision.refuse("order_status_backwards")
    if status == "settled" and old != "settled":
        settled = order_settlement({**new, "status": "confirmed"}, now, settings)
        if not settled.pays:
            return settled.decision
    return Decision.accept()


def settle_due(orders: pd.DataFrame, as_of: datetime | pd.Timestamp, settings: RulesSettings) -> np.ndarray:
    """Which orders a settlement run at ``as_of`` settles: stored as ``confirmed``, never refunded, and their
    after-sale window over by ``as_of`` (the rows :func:`settlement_status` calls settleable). Boolean array."""
    confirmed = (orders["status"].astype(str) == "confirmed").to_numpy()
    return confirmed & (settlement_status(orders, as_of, settings) == "settleable")
