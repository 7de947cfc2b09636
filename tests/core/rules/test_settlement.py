"""Settlement status, commission attachment (incl. tiers), creator statements and withdrawal."""

from __future__ import annotations

import pandas as pd
import pytest

from recsys.core.config import RulesSettings
from recsys.core.rules import (
    attach_commission,
    can_withdraw,
    creator_statement,
    order_settlement,
    settlement_status,
)
from tests.core.rules._market import DAY, NOW, frame, plan

RULES = RulesSettings()


def _order(order_id: str, status: str, confirmed_days_ago: float | None, refunded: bool = False, **kw) -> dict:
    return {
        "order_id": order_id,
        "promotion_id": kw.get("promotion_id", "pr1"),
        "amount": kw.get("amount", 100.0),
        "created_at": kw.get("created_at", NOW - 40 * DAY),
        "confirmed_at": None if confirmed_days_ago is None else NOW - confirmed_days_ago * DAY,
        "refunded_at": NOW - DAY if refunded else None,
        "status": status,
    }


@pytest.mark.parametrize(
    ("order", "status", "reasons"),
    [
        (_order("o", "placed", None), "pending", ("order_not_confirmed",)),
        (_order("o", "confirmed", 14.9), "pending", ("order_in_after_sale_window",)),
        (_order("o", "confirmed", 15), "settleable", ()),  # exactly confirmed_at + 15 days
        (_order("o", "settled", 30), "paid", ()),
        (_order("o", "refunded", None, refunded=True), "refunded", ("order_refunded",)),
        (
            _order("o", "confirmed", 30, refunded=True),
            "refunded",
            ("order_refunded",),
        ),  # refunded after confirming
        (_order("o", "settled", 30, refunded=True), "refunded", ("order_refunded",)),
    ],
)
def test_order_settlement(order: dict, status: str, reasons: tuple) -> None:
    result = order_settlement(order, NOW, RULES)
    assert (result.status, result.decision.reasons, result.pays) == (status, reasons, not reasons)
    assert (
        settlement_status(
            pd.DataFrame([order]).astype({"confirmed_at": "M8[ns]", "refunded_at": "M8[ns]"}), NOW, RULES
        )[0]
        == status
    )


def test_a_shorter_after_sale_window_settles_sooner() -> None:
    order = _order("o", "confirmed", 8)
    assert order_settlement(order, NOW, RULES).status == "pending"
    assert order_settlement(order, NOW, RulesSettings(after_sale_days=7)).status == "settleable"
    with pytest.raises(ValueError):
        RulesSettings(after_sale_days=6)


def _promotions() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "promotion_id": ["pr1", "pr2"],
            "creator_id": ["alice", "bob"],
            "product_id": ["p1", "p1"],
            "plan_id": ["flat", "tier"],
        }
    )


def test_statement_and_commissions() -> None:
    plans = frame(
        [
            plan("flat", commission_rate=0.1),
            plan("tier", plan_type="tiered", commission_rate=0.1, tiers=[[2, 0.2]], starts_at=NOW - 60 * DAY),
        ],
        plan(),
    )
    orders = pd.DataFrame(
        [
            _order("a1", "settled", 30, amount=100.0),
            _order("a2", "confirmed", 20, amount=200.0),
            _order("a3", "confirmed", 3, amount=50.0),
            _order("a4", "confirmed", 30, refunded=True, amount=80.0),
            _order("a5", "placed", None, amount=10.0, created_at=NOW - 400 * DAY),  # outside the period
            *[_order(f"b{i}", "confirmed", 20, promotion_id="pr2", created_at=NOW - (40 - i) * DAY) for i in range(4)],
        ]
    )
    orders[["confirmed_at", "refunded_at"]] = orders[["confirmed_at", "refunded_at"]].apply(pd.to_datetime)
    rated = attach_commission(orders, _promotions(), plans)
    assert rated.loc[rated["order_id"] == "a4", "commission"].item() == 0.0
    # bob's tiered plan: the first 2 orders at 10 %, from the 3rd order (2 already sold) at 20 %
    assert rated.loc[rated["creator_id"] == "bob", "commission_rate"].tolist() == [0.1, 0.1, 0.2, 0.2]

    s = creator_statement(rated, "alice", NOW - 90 * DAY, NOW, NOW, RULES)
    assert s.orders == {"pending": 1, "settleable": 1, "paid": 1, "refunded": 1}
    assert s.commission == pytest.approx({"pending": 5.0, "settleable": 20.0, "paid": 10.0, "refunded": 0.0})
    assert s.gmv["refunded"] == 80.0 and s.forfeited_commission == pytest.approx(8.0)
    assert s.to_dict()["statuses"]["paid"]["commission"] == pytest.approx(10.0)
    with pytest.raises(ValueError, match="must be after"):
        creator_statement(rated, "alice", NOW, NOW - DAY, NOW, RULES)


def test_unknown_references_name_the_order() -> None:
    orders = pd.DataFrame([_order("o1", "placed", None, promotion_id="nope")])
    with pytest.raises(ValueError, match="orders row 0: promotion_id 'nope'"):
        attach_commission(orders, _promotions(), frame([plan("flat")], plan()))


def test_withdrawal_needs_the_minimum_settled_balance() -> None:
    assert can_withdraw(100.0, RULES).ok
    assert can_withdraw(99.99, RULES).reasons == ("withdrawal_balance_below_minimum",)
    assert can_withdraw(10.0, RulesSettings(withdrawal_min_balance=5)).ok
