"""The pure funnel: what counts toward a task's report, exact money, fee spreading and ROI, checked by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from recsys.core.workflows.funnel import (
    FunnelEvent,
    FunnelFigures,
    FunnelOrder,
    FunnelScope,
    funnel_report,
    parse_funnel_event,
    split_money,
)

START = datetime(2026, 7, 1, tzinfo=UTC)
SCOPE = FunnelScope(
    task_id="t1",
    creator_ids=("a", "b"),
    product_ids=("p",),
    starts_at=START,
    ends_at=START + timedelta(days=10),
    fee_by_creator={"a": 100.0, "b": 0.0},
)
T1 = datetime(2026, 7, 2)  # naive UTC, inside the window


def _event(kind: str, creator: str, fmt: str, count: int, when: datetime = T1, **kw: object) -> FunnelEvent:
    return FunnelEvent(
        f"e-{kind}-{creator}-{fmt}-{count}", kind, creator, kw.get("product", "p"), fmt, when, count, kw.get("task_id")
    )  # type: ignore[arg-type]


def _order(creator: str, fmt: str | None, amount: str, commission: str, **kw: object) -> FunnelOrder:
    return FunnelOrder(
        f"o-{creator}-{amount}",
        creator,
        "p",
        fmt,
        kw.get("when", T1),
        Decimal(amount),
        Decimal(commission),
        bool(kw.get("refunded")),
    )  # type: ignore[arg-type]


def test_report_by_hand() -> None:
    events = [
        _event("exposure", "a", "video", 300),
        _event("exposure", "a", "post", 100),
        _event("click", "a", "video", 30),
        _event("add_to_cart", "a", "video", 6),
        _event("exposure", "b", "live", 50),
        _event("exposure", "a", "video", 7, when=datetime(2026, 6, 30)),  # before the task
        _event("exposure", "a", "video", 7, when=datetime(2026, 7, 11)),  # at the end: the window is half-open
        _event("exposure", "a", "video", 7, product="q"),  # not the task's product
        _event("exposure", "c", "video", 7),  # not on the task
        _event("click", "a", "video", 7, task_id="t2"),  # another task's content
        _event("click", "a", "video", 2, task_id="t1"),  # this task's, tagged
    ]
    orders = [
        _order("a", "video", "99.90", "19.98"),
        _order("a", "video", "10.00", "2.00", refunded=True),
        _order("b", None, "50.00", "5.00"),
    ]
    report = funnel_report(SCOPE, events, orders)
    # a: exposure 300 + 100 = 400, clicks 30 + 2 = 32, one order of 99.90 (commission 19.98); fee 100.00 spread by
    #    exposure: video 300/400 = 75.00, post 25.00; ROI = 99.90 / (19.98 + 100) = 0.832639
    a = report.by_creator["a"]
    assert (a.exposure, a.clicks, a.add_to_cart, a.orders) == (400, 32, 6, 1)
    assert (a.gmv, a.commission, a.fee_cost) == (Decimal("99.90"), Decimal("19.98"), Decimal("100.00"))
    assert a.roi == pytest.approx(0.832639, abs=1e-6)
    assert (a.click_rate, a.conversion) == (0.08, 1 / 32)
    # b: an order without a format counts as "unknown"; no clicks, so conversion is null; ROI = 50 / 5 = 10
    b = report.by_creator["b"]
    assert (b.exposure, b.orders, b.conversion, b.roi) == (50, 1, None, 10.0)
    assert list(report.by_format) == ["video", "live", "post", "unknown"]
    assert report.by_format["video"].fee_cost == Decimal("75.00") and report.by_format["post"].fee_cost == Decimal(
        "25.00"
    )
    assert report.by_format["unknown"].gmv == Decimal("50.00")
    assert report.total.gmv == Decimal("149.90") and report.total.fee_cost == Decimal("100.00")
    assert sum((f.fee_cost for f in report.by_format.values()), Decimal(0)) == report.total.fee_cost


def test_a_creator_with_a_fee_and_no_activity_has_a_row_and_an_unknown_format() -> None:
    report = funnel_report(SCOPE, [], [])
    assert report.by_creator["b"] == FunnelFigures()
    assert report.by_format["unknown"].fee_cost == Decimal("100.00")
    assert report.total.roi == 0.0 and report.total.click_rate is None


def test_roi_is_null_without_cost() -> None:
    assert FunnelFigures(gmv=Decimal("10.00")).roi is None


def test_split_money_sums_exactly_to_the_fen() -> None:
    assert split_money(Decimal("100.00"), [1, 1, 1]) == [Decimal("33.34"), Decimal("33.33"), Decimal("33.33")]
    assert split_money(Decimal("0.05"), [2, 1]) == [Decimal("0.03"), Decimal("0.02")]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"creator_id": "a", "product_id": "p", "content_format": "video"}, "occurred_at"),
        (
            {"creator_id": "a", "product_id": "p", "content_format": "reel", "occurred_at": "2026-07-01"},
            "content_format",
        ),
        ({"creator_id": 5, "product_id": "p", "content_format": "live", "occurred_at": "2026-07-01"}, "creator_id"),
        (
            {"creator_id": "a", "product_id": "p", "content_format": "live", "occurred_at": "2026-07-01", "count": 0},
            "count",
        ),
        (
            {
                "creator_id": "a",
                "product_id": "p",
                "content_format": "live",
                "occurred_at": "2026-07-01",
                "count": True,
            },
            "count",
        ),
        ({"creator_id": "a", "product_id": "p", "content_format": "live", "occurred_at": "noon"}, "occurred_at"),
        ({"creator_id": "a", "product_id": "p", "content_format": "live", "occurred_at": "2026-07-01", "x": 1}, "data"),
    ],
)
def test_bad_payloads_name_the_field(data: dict[str, object], field: str) -> None:
    problem = parse_funnel_event("e1", "click", data)
    assert isinstance(problem, str) and problem.startswith(f"{field}:")


def test_a_good_payload_is_parsed_to_naive_utc_with_count_one_by_default() -> None:
    data = {"creator_id": "a", "product_id": "p", "content_format": "post", "occurred_at": "2026-07-01T08:00:00+08:00"}
    event = parse_funnel_event("e1", "exposure", data)
    assert isinstance(event, FunnelEvent)
    assert (event.occurred_at, event.count, event.task_id) == (datetime(2026, 7, 1), 1, None)
