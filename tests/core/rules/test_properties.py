"""Property tests (hypothesis, 500 examples each): visibility never leaks, commission bounds, tier
monotonicity after launch, settlement safety, every refusal explained, PlanBook agreeing with the scalar
rules."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys.core.config import RulesSettings
from recsys.core.rules import (
    REASON_CODES,
    REASONS,
    CreatorProfile,
    MerchantProfile,
    PlanBook,
    PlanTerms,
    ProductProfile,
    can_withdraw,
    creator_admission,
    effective_rate,
    expected_commission,
    merchant_admission,
    order_settlement,
    resolve_plans,
    settlement_status,
    validate_plan,
    validate_plan_update,
)
from recsys.core.rules.commission import tier_schedule_points
from recsys.core.schema import PLAN_TYPES
from tests.core.rules._market import DAY, NOW, marketplaces

RULES = RulesSettings()


def _book(market: dict[str, Any], plans: pd.DataFrame | None = None) -> PlanBook:
    plans = market["plans"] if plans is None else plans
    return PlanBook.build(plans, market["products"], market["merchants"], market["creators"], NOW, RULES)


def _scalar(market: dict[str, Any], plans: pd.DataFrame | None = None) -> dict[str, Any]:
    plans = market["plans"] if plans is None else plans
    merchants = {m.merchant_id: m for m in MerchantProfile.from_frame(market["merchants"])}
    products = ProductProfile.from_frame(market["products"])
    return {
        "plans": PlanTerms.from_frame(plans),
        "creators": CreatorProfile.from_frame(market["creators"]),
        "products": products,
        "merchants": [merchants.get(p.merchant_id) for p in products],
    }


def _resolve(s: dict[str, Any], c: int, p: int, predicted: float = 0.0, cumulative: float = 0.0):
    return resolve_plans(
        s["creators"][c],
        s["products"][p],
        s["merchants"][p],
        s["plans"],
        NOW,
        RULES,
        predicted_units=predicted,
        cumulative_units=cumulative,
    )


def _hidden_from(plans: pd.DataFrame, creator_id: str) -> np.ndarray:
    """Rows of listed plans that do not list ``creator_id``."""
    listed = plans["plan_type"].isin(["exclusive", "targeted"]).to_numpy()
    names = np.array([creator_id in ids for ids in plans["creator_ids"]], dtype=bool)
    return listed & ~names


@settings(max_examples=500)
@given(marketplaces(), st.integers(0, 4))
def test_a_creator_never_sees_a_listed_plan_that_does_not_list_them(market: dict[str, Any], pick: int) -> None:
    """Every answer for creator c equals the answer without the listed plans that do not name c."""
    plans, book, scalar = market["plans"], _book(market), _scalar(market)
    c = pick % len(market["creators"])
    creator_id = market["creators"]["creator_id"].iloc[c]
    hidden = _hidden_from(plans, creator_id)
    hidden_ids = set(plans["plan_id"][hidden])
    without = plans[~hidden].reset_index(drop=True)
    scalar_without, book_without = {**scalar, "plans": PlanTerms.from_frame(without)}, _book(market, without)
    n_products = len(market["products"])
    for p in range(n_products):
        r, r0 = _resolve(scalar, c, p), _resolve(scalar_without, c, p)
        shown = {x.plan_id for x in r.visible + r.joinable} | ({r.effective.plan_id} if r.effective else set())
        assert not shown & hidden_ids
        assert (r.reasons, r.effective_rate, r.effective, r.visible) == (
            r0.reasons,
            r0.effective_rate,
            r0.effective,
            r0.visible,
        )
    got = book.products_for_creator(c, np.arange(n_products))
    expected = book_without.products_for_creator(c, np.arange(n_products))
    got_ids = [book.plan_ids[i] if i >= 0 else None for i in got.plan_row]
    expected_ids = [book_without.plan_ids[i] if i >= 0 else None for i in expected.plan_row]
    assert got_ids == expected_ids and not set(got_ids) & hidden_ids
    np.testing.assert_array_equal(got.reason, expected.reason)
    np.testing.assert_array_equal(got.rate, expected.rate)
    np.testing.assert_array_equal(book.eligible_products_mask(c), book_without.eligible_products_mask(c))
    for p in range(n_products):
        row = book.creators_for_product(p, np.array([c])).plan_row[0]
        assert row < 0 or book.plan_ids[row] not in hidden_ids
        assert book.eligible_creators_mask(p)[c] == book_without.eligible_creators_mask(p)[c]


@settings(max_examples=500)
@given(marketplaces())
def test_planbook_agrees_with_the_scalar_rules(market: dict[str, Any]) -> None:
    book, scalar = _book(market), _scalar(market)
    n_c, n_p = len(market["creators"]), len(market["products"])
    predicted = np.array(market["predicted"]).reshape(n_c, n_p)
    cumulative = np.array(market["cumulative"]).reshape(n_c, n_p)
    by_product = [book.creators_for_product(p, np.arange(n_c), predicted[:, p], cumulative[:, p]) for p in range(n_p)]
    creator_masks = [book.eligible_creators_mask(p) for p in range(n_p)]
    for c in range(n_c):
        got = book.products_for_creator(c, np.arange(n_p), predicted[c], cumulative[c])
        mask = book.eligible_products_mask(c)
        for p in range(n_p):
            r = _resolve(scalar, c, p, predicted[c, p], cumulative[c, p])
            assert got.eligible[p] == r.eligible == mask[p] == by_product[p].eligible[c] == creator_masks[p][c]
            if r.eligible:
                assert book.plan_ids[got.plan_row[p]] == r.effective.plan_id
                assert PLAN_TYPES[got.plan_type[p]] == r.effective.plan_type
                assert got.rate[p] == r.effective_rate == by_product[p].rate[c]
                assert RULES.commission_min <= got.rate[p] <= RULES.commission_max
            else:
                assert REASON_CODES[got.reason[p]] == r.reasons[0] == REASON_CODES[by_product[p].reason[c]]
                assert got.plan_row[p] == -1 and np.isnan(got.rate[p])


_rates = st.sampled_from([0.0, 0.005, 0.01, 0.05, 0.1, 0.12, 0.2, 0.35, 0.5, 0.8, 0.85])
_mins = st.sampled_from([0.0, 1.0, 5.0, 10.0, 49.5, 100.0, 1000.0])
_tiers = st.lists(st.tuples(_mins, _rates), max_size=4)


def _tiered(base: float, tiers: list[tuple[float, float]], basis: str = "units", **kw: Any) -> PlanTerms:
    return PlanTerms("pl", "p", "tiered", base, NOW - 5 * DAY, tiers=tuple(tiers), tier_basis=basis, **kw)


@settings(max_examples=500)
@given(_rates, _tiers, st.floats(0, 5000), st.floats(0, 5000), st.floats(0, 1e6), st.floats(0, 1))
def test_effective_commission_stays_within_zero_and_the_max_rate(
    base: float, tiers: list, cumulative: float, predicted: float, gmv: float, refund: float
) -> None:
    plan = _tiered(base, tiers)
    rate = effective_rate(plan, cumulative, predicted)
    if not validate_plan(plan, RULES):
        assert 0.0 <= rate <= RULES.commission_max
        assert min(base, *(r for _, r in tiers)) - 1e-12 <= rate <= max(base, *(r for _, r in tiers)) + 1e-12
        assert 0.0 <= expected_commission(gmv, rate, refund) <= gmv * RULES.commission_max + 1e-9
    # a flat plan pays exactly its rate, whatever the amounts
    flat = PlanTerms("pl", "p", "open", base, NOW)
    assert effective_rate(flat, cumulative, predicted) == base


@settings(max_examples=500)
@given(_rates, _tiers, _rates, _tiers, st.sampled_from(["units", "gmv"]), st.booleans())
def test_tiers_are_monotone_and_a_rate_never_falls_after_launch(
    old_base: float, old_tiers: list, new_base: float, new_tiers: list, basis: str, launched: bool
) -> None:
    old = _tiered(old_base, sorted(set(old_tiers)), basis)
    new = _tiered(new_base, new_tiers, basis)
    if not validate_plan(new, RULES):
        mins, rates = [m for m, _ in new.tiers], [new.commission_rate, *(r for _, r in new.tiers)]
        assert all(b > a for a, b in itertools.pairwise(mins)) and all(m >= 0 for m in mins)
        assert all(b >= a for a, b in itertools.pairwise(rates))
    now = NOW if launched else NOW - 30 * DAY
    reasons = validate_plan_update(old, new, now, RULES)
    amounts = sorted({*tier_schedule_points(old), *tier_schedule_points(new), 0.5, 7.0, 75.0, 5000.0})
    falls = any(effective_rate(new, a) < effective_rate(old, a) for a in amounts)
    if launched and (falls or new_base < old_base):
        assert {"plan_rate_decreased_after_launch", "plan_tier_rate_decreased_after_launch"} & set(reasons)
    if not reasons and launched:
        assert not falls and new.commission_rate >= old.commission_rate


_offsets = st.one_of(st.none(), st.integers(-40, 5))


@settings(max_examples=500)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["placed", "confirmed", "refunded", "settled"]),
            _offsets,
            _offsets,
            st.floats(1, 500),
        ),
        min_size=1,
        max_size=12,
    ),
    st.integers(7, 15),
)
def test_settlement_never_pays_a_refunded_order_or_before_the_window_ends(orders: list, days: int) -> None:
    rules = RulesSettings(after_sale_days=days)
    frame = pd.DataFrame(
        {
            "order_id": [f"o{i}" for i in range(len(orders))],
            "amount": [o[3] for o in orders],
            "created_at": [NOW - 50 * DAY] * len(orders),
            "confirmed_at": pd.to_datetime([None if o[1] is None else NOW + o[1] * DAY for o in orders]),
            "refunded_at": pd.to_datetime([None if o[2] is None else NOW + o[2] * DAY for o in orders]),
            "status": [o[0] for o in orders],
        }
    )
    vector = settlement_status(frame, NOW, rules)
    for i, row in enumerate(frame.to_dict(orient="records")):
        s = order_settlement(row, NOW, rules)
        assert s.status == vector[i]
        refunded = row["status"] == "refunded" or not pd.isna(row["refunded_at"])
        if refunded:
            assert s.status == "refunded" and not s.pays
        if s.pays:
            assert not refunded and row["confirmed_at"] + days * DAY <= NOW
            assert s.status in ("paid", "settleable")
        else:
            assert s.decision.reasons and set(s.decision.reasons) <= set(REASONS)


@settings(max_examples=500)
@given(
    st.one_of(st.floats(0, 100), st.just(float("nan"))),
    st.one_of(st.floats(0, 1), st.just(float("nan"))),
    st.integers(0, 3),
    st.integers(0, 5),
    st.integers(0, 200),
    st.booleans(),
    st.booleans(),
    st.booleans(),
    st.floats(-10, 1000),
    st.sampled_from([5, 100]),
    marketplaces(max_plans=4),
)
def test_every_refusal_carries_a_registered_reason(
    score: float,
    review: float,
    violations: int,
    closures: int,
    age: int,
    real: bool,
    showcase: bool,
    deposit: bool,
    balance: float,
    scale: int,
    market: dict[str, Any],
) -> None:
    rules = RulesSettings(experience_scale=scale)
    m = MerchantProfile("m", NOW - age * DAY, score if scale == 100 else score / 20, review, violations, closures)
    c = CreatorProfile("c", 100, "north", frozenset({"beauty"}), real, showcase, deposit)
    decisions = [
        merchant_admission(m, NOW, rules).decision,
        creator_admission(c, rules),
        can_withdraw(balance, rules),
    ]
    scalar = _scalar(market)
    decisions += [
        _resolve(scalar, i, j).decision for i in range(len(scalar["creators"])) for j in range(len(scalar["products"]))
    ]
    for d in decisions:
        assert d.ok or (d.reasons and set(d.reasons) <= set(REASONS))
    for p in scalar["plans"]:
        assert set(validate_plan(p, rules)) <= set(REASONS)
        assert set(validate_plan_update(p, p, NOW, rules)) <= set(validate_plan(p, rules))


@settings(max_examples=200)
@given(marketplaces())
def test_one_plans_requirements_over_every_creator_are_the_pairwise_requirements(market: dict[str, Any]) -> None:
    from recsys.core.rules import _pairs
    from recsys.core.rules.reasons import NO_REASON

    book = _book(market)
    every = np.arange(len(market["creators"]), dtype=np.int64)
    for plan in range(len(book.plan_ids)):
        pairwise = _pairs.requirement_codes(book, np.full(len(every), plan), every) == NO_REASON
        np.testing.assert_array_equal(_pairs.creators_meeting(book, plan), pairwise)
