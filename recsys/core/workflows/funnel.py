"""Task funnel reports (issue 22): exposure → click → add-to-cart → order, per creator, per content format, total.

Pure: the store layer (``serving.funnel_store``) reads the task's scope, its funnel events and its orders; this
module validates event payloads and sums them. What counts, for a task with creators C, products P and the window
[starts_at, ends_at) (open-ended when ends_at is empty):

- a funnel event (exposure, click, add_to_cart) counts ``count`` times when its creator is in C, its product in P,
  it occurred in the window and its ``task_id`` is empty or this task;
- an order counts when its promotion's creator is in C and product in P, it was created in the window and it is not
  refunded; its content format is its promotion's format (``unknown`` when missing);
- GMV and commission are those orders' amounts and commissions (exact decimals, yuan); the fee cost is the fixed
  fees owed to each creator (deliverables that passed QA), spread over the creator's formats by exposure (equally
  when it has none; all to ``unknown`` when it has no events and no orders), to the fen, so formats add up to total;
- click rate = clicks / exposure; conversion = orders / clicks; ROI = GMV / (commission + fee cost) — the merchant's
  return on what the task cost; each is null when its denominator is 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_DOWN, Decimal
from typing import Any

from recsys.core.rules.settlement import FEN, money, money_sum
from recsys.core.vocab import PromotionFormat

FUNNEL_KINDS: tuple[str, ...] = ("exposure", "click", "add_to_cart")
"""Event kinds of the funnel (``POST /v1/events``), before orders."""
UNKNOWN_FORMAT = "unknown"
CONTENT_FORMATS: tuple[str, ...] = tuple(f.value for f in PromotionFormat)
MAX_EVENT_COUNT = 10_000_000
"""One event may stand for at most this many exposures, clicks or add-to-carts (a pre-aggregated batch)."""
_FIELDS = {"creator_id", "product_id", "content_format", "occurred_at", "count", "task_id"}
_REQUIRED = ("creator_id", "product_id", "content_format", "occurred_at")
_MAX_ID = 200


@dataclass(frozen=True)
class FunnelEvent:
    """One validated funnel event; ``occurred_at`` is naive UTC (as the store keeps datetimes)."""

    event_id: str
    kind: str
    creator_id: str
    product_id: str
    content_format: str
    occurred_at: datetime
    count: int
    task_id: str | None = None


@dataclass(frozen=True)
class FunnelOrder:
    """One order as the funnel reads it: its promotion's creator, product and format, amount and commission."""

    order_id: str
    creator_id: str
    product_id: str
    content_format: str | None
    created_at: datetime
    amount: Decimal
    commission: Decimal
    refunded: bool = False


@dataclass(frozen=True)
class FunnelScope:
    """The task's reach (mirrors the task store's ``TaskScope``; datetimes naive UTC or aware)."""

    task_id: str
    creator_ids: tuple[str, ...]
    product_ids: tuple[str, ...]
    starts_at: datetime
    ends_at: datetime | None
    fee_by_creator: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class FunnelFigures:
    """The funnel of one row (a creator, a format or the total)."""

    exposure: int = 0
    clicks: int = 0
    add_to_cart: int = 0
    orders: int = 0
    gmv: Decimal = Decimal("0.00")
    commission: Decimal = Decimal("0.00")
    fee_cost: Decimal = Decimal("0.00")

    @property
    def click_rate(self) -> float | None:
        return self.clicks / self.exposure if self.exposure else None

    @property
    def conversion(self) -> float | None:
        return self.orders / self.clicks if self.clicks else None

    @property
    def cost(self) -> Decimal:
        return money_sum([self.commission, self.fee_cost])

    @property
    def roi(self) -> float | None:
        return float(self.gmv / self.cost) if self.cost > 0 else None

    def __add__(self, other: FunnelFigures) -> FunnelFigures:
        return FunnelFigures(
            exposure=self.exposure + other.exposure,
            clicks=self.clicks + other.clicks,
            add_to_cart=self.add_to_cart + other.add_to_cart,
            orders=self.orders + other.orders,
            gmv=money_sum([self.gmv, other.gmv]),
            commission=money_sum([self.commission, other.commission]),
            fee_cost=money_sum([self.fee_cost, other.fee_cost]),
        )


@dataclass(frozen=True)
class FunnelReport:
    task_id: str
    by_creator: dict[str, FunnelFigures]
    by_format: dict[str, FunnelFigures]
    total: FunnelFigures


# --- events ---------------------------------------------------------------------------------------------------


def parse_funnel_event(event_id: str, kind: str, data: Mapping[str, Any]) -> FunnelEvent | str:
    """The event, or the problem with its payload (``field: reason``) for the quarantine."""
    unknown = sorted(set(data) - _FIELDS)
    if unknown:
        return f"data: unknown field(s) {', '.join(map(repr, unknown[:5]))}; {kind} fields are " + ", ".join(
            sorted(_FIELDS)
        )
    for name in _REQUIRED:
        if data.get(name) in (None, ""):
            return f"{name}: required"
    for name in ("creator_id", "product_id", "task_id"):
        value = data.get(name)
        if value is not None and (not isinstance(value, str) or not 0 < len(value) <= _MAX_ID):
            return f"{name}: must be a text id of 1 to {_MAX_ID} characters"
    if data["content_format"] not in CONTENT_FORMATS:
        return f"content_format: {data['content_format']!r} is not one of {', '.join(CONTENT_FORMATS)}"
    occurred = _utc_naive(data["occurred_at"])
    if occurred is None:
        return "occurred_at: must be an ISO 8601 date-time (e.g. 2026-07-01T12:00:00Z)"
    count = data.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_EVENT_COUNT:
        return f"count: must be a whole number from 1 to {MAX_EVENT_COUNT}"
    return FunnelEvent(
        event_id=event_id,
        kind=kind,
        creator_id=data["creator_id"],
        product_id=data["product_id"],
        content_format=data["content_format"],
        occurred_at=occurred,
        count=count,
        task_id=data.get("task_id"),
    )


def _utc_naive(value: object) -> datetime | None:
    """An ISO date-time as naive UTC (a value without an offset is taken as UTC); None when it is not one."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed
    try:
        return parsed.astimezone(UTC).replace(tzinfo=None)
    except OverflowError:
        return None


# --- the report -----------------------------------------------------------------------------------------------


def funnel_report(scope: FunnelScope, events: Iterable[FunnelEvent], orders: Iterable[FunnelOrder]) -> FunnelReport:
    """Sum the task's events and orders per creator and format (see the module docstring for what counts)."""
    cells: dict[tuple[str, str], FunnelFigures] = {}
    for event in events:
        if _counts_event(scope, event):
            key = (event.creator_id, event.content_format)
            cells[key] = cells.get(key, FunnelFigures()) + _event_figures(event)
    for order in orders:
        if _counts_order(scope, order):
            key = (order.creator_id, order.content_format or UNKNOWN_FORMAT)
            cells[key] = cells.get(key, FunnelFigures()) + FunnelFigures(
                orders=1, gmv=money(order.amount), commission=money(order.commission)
            )
    for creator_id in scope.creator_ids:
        fee = money(scope.fee_by_creator.get(creator_id, 0.0))
        if fee > 0:
            _add_fee(cells, creator_id, fee)
    by_creator = {c: _sum(f for (cc, _), f in cells.items() if cc == c) for c in scope.creator_ids}
    formats = sorted({fmt for _, fmt in cells}, key=_format_order)
    by_format = {fmt: _sum(f for (_, ff), f in cells.items() if ff == fmt) for fmt in formats}
    return FunnelReport(scope.task_id, by_creator, by_format, _sum(by_creator.values()))


def _counts_event(scope: FunnelScope, event: FunnelEvent) -> bool:
    return (
        event.task_id in (None, scope.task_id)
        and event.creator_id in scope.creator_ids
        and event.product_id in scope.product_ids
        and _in_window(scope, event.occurred_at)
    )


def _counts_order(scope: FunnelScope, order: FunnelOrder) -> bool:
    return (
        not order.refunded
        and order.creator_id in scope.creator_ids
        and order.product_id in scope.product_ids
        and _in_window(scope, order.created_at)
    )


def _in_window(scope: FunnelScope, moment: datetime) -> bool:
    start, end, at = _naive(scope.starts_at), _naive(scope.ends_at), _naive(moment)
    assert start is not None and at is not None
    return start <= at and (end is None or at < end)


def _naive(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def _event_figures(event: FunnelEvent) -> FunnelFigures:
    counts = {"exposure": 0, "click": 0, "add_to_cart": 0}
    counts[event.kind] = event.count
    return FunnelFigures(exposure=counts["exposure"], clicks=counts["click"], add_to_cart=counts["add_to_cart"])


def _add_fee(cells: dict[tuple[str, str], FunnelFigures], creator_id: str, fee: Decimal) -> None:
    """Spread ``fee`` over the creator's formats by exposure (equally without exposure), exactly to the fen."""
    own = sorted((fmt for c, fmt in cells if c == creator_id), key=_format_order) or [UNKNOWN_FORMAT]
    weights = [cells.get((creator_id, fmt), FunnelFigures()).exposure for fmt in own]
    shares = split_money(fee, weights if sum(weights) > 0 else [1] * len(own))
    for fmt, share in zip(own, shares, strict=True):
        cells[(creator_id, fmt)] = cells.get((creator_id, fmt), FunnelFigures()) + FunnelFigures(fee_cost=share)


def split_money(amount: Decimal, weights: list[int]) -> list[Decimal]:
    """``amount`` split by ``weights`` to the fen, summing exactly to ``amount`` (largest remainders get the fen)."""
    total = sum(weights)
    raw = [amount * weight / total for weight in weights]
    shares = [value.quantize(FEN, rounding=ROUND_DOWN) for value in raw]
    left = int((amount - sum(shares, Decimal("0"))) / FEN)
    order = sorted(range(len(raw)), key=lambda i: (shares[i] - raw[i], i))
    for i in order[:left]:
        shares[i] += FEN
    return shares


def _sum(figures: Iterable[FunnelFigures]) -> FunnelFigures:
    total = FunnelFigures()
    for figure in figures:
        total = total + figure
    return total


def _format_order(fmt: str) -> int:
    return CONTENT_FORMATS.index(fmt) if fmt in CONTENT_FORMATS else len(CONTENT_FORMATS)
