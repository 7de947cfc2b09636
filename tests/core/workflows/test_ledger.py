"""The ledger's money is exact and adds up; order states only move forward; a settlement run picks the right orders."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys.core.config import RulesSettings
from recsys.core.rules.settlement import commission_amount, money, order_transition, settle_due
from recsys.core.workflows.ledger import balance, figures, figures_by, ledger_lines

RULES = RulesSettings()  # after_sale_days = 15, withdrawal_min_balance = 100
NOW = datetime(2026, 7, 1)


def _order(order_id: str, amount: float, rate: float, status: str, **dates: datetime | None) -> dict[str, object]:
    return {
        "order_id": order_id,
        "promotion_id": "pr1",
        "creator_id": "c1",
        "product_id": "p1" if int(order_id[1:]) % 2 else "p2",
        "plan_id": "pl1",
        "amount": amount,
        "commission_rate": rate,
        "created_at": dates.get("created_at", NOW - timedelta(days=60)),
        "confirmed_at": dates.get("confirmed_at"),
        "refunded_at": dates.get("refunded_at"),
        "status": status,
    }


def test_commission_is_exact_and_rounds_half_up_per_order() -> None:
    assert commission_amount(10.30, 0.15) == Decimal("1.55")  # 1.545, half up
    assert commission_amount(1.14, 0.25) == Decimal("0.29")  # 0.285, half up ...
    assert round(1.14 * 0.25, 2) == 0.28  # ... where float arithmetic (0.28499999...) would have paid a fen less
    assert commission_amount(999.99, 0.15) == Decimal("150.00")  # 149.9985
    assert money(129.9) == Decimal("129.90") and str(money(0.1 + 0.2)) == "0.30"
    huge = figures(ledger_lines(pd.DataFrame([_order("o1", 1e300, 0.5, "placed")] * 2), NOW, RULES))
    assert huge.commission["pending"] == Decimal(str(1e300)) and huge.earned == huge.commission["pending"]  # exact


def test_order_states_move_forward_only() -> None:
    confirmed = {"status": "confirmed", "confirmed_at": NOW - timedelta(days=20), "amount": 10.0, "promotion_id": "a"}
    in_window = {**confirmed, "confirmed_at": NOW - timedelta(days=3)}

    def code(previous: dict[str, object] | None, new: dict[str, object]) -> str | None:
        decision = order_transition(previous, new, NOW, RULES)
        return None if decision.ok else decision.reasons[0]

    assert code(None, {"status": "placed"}) is None
    assert code({"status": "placed"}, confirmed) is None
    assert code(confirmed, {**confirmed, "status": "refunded", "refunded_at": NOW}) is None
    assert code(confirmed, {**confirmed, "status": "settled"}) is None
    assert code(in_window, {**in_window, "status": "settled"}) == "order_in_after_sale_window"
    assert code({"status": "placed"}, {"status": "settled", "confirmed_at": None}) == "order_not_confirmed"
    assert code(confirmed, {"status": "placed"}) == "order_status_backwards"
    refunded = {**confirmed, "status": "refunded"}
    assert code(refunded, confirmed) == "order_already_refunded"
    assert code(refunded, refunded) is None  # the same state again changes nothing
    settled = {**confirmed, "status": "settled"}
    assert code(settled, {**settled, "status": "refunded", "refunded_at": NOW}) == "order_already_settled"
    assert code(settled, {**settled, "amount": 11.0}) == "order_already_settled"
    assert code(settled, settled) is None


def test_a_settlement_run_picks_confirmed_orders_past_their_window() -> None:
    frame = pd.DataFrame(
        [
            _order("o1", 10.0, 0.1, "confirmed", confirmed_at=NOW - timedelta(days=16)),  # due
            _order("o2", 10.0, 0.1, "confirmed", confirmed_at=NOW - timedelta(days=14)),  # in window
            _order("o3", 10.0, 0.1, "settled", confirmed_at=NOW - timedelta(days=30)),  # already settled
            _order("o4", 10.0, 0.1, "refunded", confirmed_at=NOW - timedelta(days=30), refunded_at=NOW),
            _order("o5", 10.0, 0.1, "placed"),
            _order("o6", 10.0, 0.1, "confirmed", confirmed_at=NOW - timedelta(days=15)),  # window ends exactly now
        ]
    )
    assert frame.loc[settle_due(frame, NOW, RULES), "order_id"].tolist() == ["o1", "o6"]


_STATES = st.sampled_from(["placed", "confirmed_old", "confirmed_new", "settled", "refunded"])
_ORDERS = st.lists(
    st.tuples(
        _STATES,
        st.integers(min_value=1, max_value=10_000_000).map(lambda fen: fen / 100),  # amounts to the fen
        st.integers(min_value=1, max_value=80).map(lambda pct: pct / 100),
        st.integers(min_value=0, max_value=5),  # plan
    ),
    min_size=0,
    max_size=40,
)


def _frame(orders: list[tuple[str, float, float, int]]) -> pd.DataFrame:
    rows = []
    for i, (state, amount, rate, plan) in enumerate(orders):
        old, new = NOW - timedelta(days=30), NOW - timedelta(days=2)
        dates: dict[str, datetime | None] = {
            "placed": {},
            "confirmed_old": {"confirmed_at": old},
            "confirmed_new": {"confirmed_at": new},
            "settled": {"confirmed_at": old},
            "refunded": {"confirmed_at": old, "refunded_at": new},
        }[state]
        status = state.split("_")[0]
        rows.append({**_order(f"o{i}", amount, rate, status, **dates), "plan_id": f"pl{plan}"})
    columns = list(_order("o0", 1.0, 0.1, "placed"))
    return pd.DataFrame(rows, columns=columns)


@settings(max_examples=150, deadline=None)
@given(_ORDERS)
def test_paid_settleable_pending_and_refunded_always_add_up_to_what_was_earned(orders) -> None:  # type: ignore[no-untyped-def]
    frame = _frame(orders)
    lines = ledger_lines(frame, NOW, RULES)
    earned = sum((commission_amount(a, r) for _, a, r, _ in orders), Decimal("0"))  # each order rounded once
    total = figures(lines)
    assert (
        total.commission["paid"]
        + total.commission["settleable"]
        + total.commission["pending"]
        + total.commission["refunded"]
        == earned
        == total.earned
    )
    assert sum(total.orders.values()) == len(orders)
    assert sum(total.gmv.values(), Decimal("0")) == sum((money(a) for _, a, _, _ in orders), Decimal("0"))
    by_plan = figures_by(lines, lambda line: line.plan_id)
    assert sum((f.earned for f in by_plan.values()), Decimal("0")) == earned
    for line in lines:
        assert line.commission == line.commission.quantize(Decimal("0.01"))
    assert total.commission["paid"] == sum(
        (commission_amount(a, r) for s, a, r, _ in orders if s == "settled"), Decimal("0")
    )
    bal = balance(lines, Decimal("0"))
    assert bal.available == bal.paid == total.commission["paid"]


def test_the_balance_leaves_out_orders_a_withdrawal_already_paid() -> None:
    frame = pd.DataFrame(
        [
            _order("o1", 600.0, 0.1, "settled", confirmed_at=NOW - timedelta(days=30)),  # 60.00
            _order("o2", 500.0, 0.1, "settled", confirmed_at=NOW - timedelta(days=30)),  # 50.00
            _order("o3", 900.0, 0.1, "confirmed", confirmed_at=NOW - timedelta(days=30)),  # settleable, not paid
        ]
    )
    lines = ledger_lines(frame, NOW, RULES, {"o1": "wd-1"})
    bal = balance(lines, Decimal("60.00"))
    assert (bal.paid, bal.withdrawn, bal.available, bal.available_orders) == (
        Decimal("110.00"),
        Decimal("60.00"),
        Decimal("50.00"),
        ("o2",),
    )
    assert not bal.withdrawal(RULES) and bal.withdrawal(RulesSettings(withdrawal_min_balance=50))


def test_a_tiered_plan_with_an_end_counts_only_orders_in_its_period() -> None:
    """A plan with ``ends_at`` once crashed ``attach_commission`` (a read-only array under pandas copy-on-write)."""
    from recsys.core.rules.settlement import attach_commission
    from tests.core.rules._market import DAY, NOW, frame, plan

    plans = frame(
        [
            plan(
                "tier",
                plan_type="tiered",
                commission_rate=0.1,
                tiers=[[1, 0.2]],
                starts_at=NOW - 60 * DAY,
                ends_at=NOW - 10 * DAY,
            )
        ],
        plan(),
    )
    promotions = pd.DataFrame(
        {"promotion_id": ["pr1"], "creator_id": ["c1"], "product_id": ["p1"], "plan_id": ["tier"]}
    )
    orders = pd.DataFrame(
        {
            "order_id": ["o1", "o2", "o3"],
            "promotion_id": "pr1",
            "amount": 100.0,
            "created_at": [NOW - 30 * DAY, NOW - 20 * DAY, NOW - 5 * DAY],  # o3 after the plan ended
            "confirmed_at": pd.NaT,
            "refunded_at": pd.NaT,
            "status": "placed",
        }
    )
    rated = attach_commission(orders, promotions, plans)
    assert rated["commission_rate"].tolist() == [0.1, 0.2, 0.2]  # o2 is past the first tier
