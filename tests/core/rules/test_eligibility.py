"""Merchant and creator admission and plan requirements: each rule passes and fails, scalar == vectorized."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recsys.core.config import RulesSettings
from recsys.core.rules import (
    REASON_CODES,
    CreatorProfile,
    MerchantProfile,
    PlanTerms,
    admitted_product_mask,
    creator_admission,
    creator_reason_codes,
    merchant_admission,
    merchant_admission_frame,
    merchant_reason_codes,
    plan_requirement_reasons,
)
from tests.core.rules._market import DAY, NOW, creator, frame, merchant, plan, product

RULES = RulesSettings()


def _merchant(**overrides) -> MerchantProfile:
    return MerchantProfile.from_row(merchant(**overrides))


@pytest.mark.parametrize(
    ("overrides", "status", "reasons"),
    [
        ({}, "admitted", ()),
        ({"experience_score": 70.0}, "admitted", ()),  # the bar is inclusive
        ({"experience_score": 69.9}, "not_admitted", ("merchant_experience_score_below_threshold",)),
        ({"experience_score": 64.9}, "warning", ("merchant_experience_score_warning",)),
        ({"experience_score": 59.9}, "closed", ("merchant_experience_score_closure",)),
        (
            {"good_review_rate": 0.80},
            "not_admitted",
            ("merchant_good_review_rate_too_low",),
        ),  # strictly above
        ({"good_review_rate": 0.81}, "admitted", ()),
        ({"violations_90d": 1}, "not_admitted", ("merchant_serious_violation_90d",)),
        ({"alliance_closures": 2}, "admitted", ()),
        ({"alliance_closures": 3}, "banned", ("merchant_closures_permanent_ban",)),
        (
            {"alliance_closures": 3, "violations_90d": 2, "experience_score": 10.0},
            "banned",
            (
                "merchant_closures_permanent_ban",
                "merchant_experience_score_closure",
                "merchant_serious_violation_90d",
            ),
        ),
    ],
)
def test_merchant_admission_ladder(overrides: dict, status: str, reasons: tuple) -> None:
    result = merchant_admission(_merchant(**overrides), NOW, RULES)
    assert (result.status, result.reasons, result.ok) == (status, reasons, status == "admitted")


def test_new_merchants_are_exempt_from_the_experience_score_but_nothing_else() -> None:
    young = _merchant(joined_at=NOW - 59 * DAY, experience_score=10.0)
    assert merchant_admission(young, NOW, RULES).ok and merchant_admission(young, NOW, RULES).experience_exempt
    old = _merchant(joined_at=NOW - 60 * DAY, experience_score=10.0)
    assert merchant_admission(old, NOW, RULES).status == "closed"
    young_bad_reviews = _merchant(joined_at=NOW - 5 * DAY, experience_score=10.0, good_review_rate=0.5)
    assert merchant_admission(young_bad_reviews, NOW, RULES).reasons == ("merchant_good_review_rate_too_low",)


def test_experience_score_on_the_five_point_scale() -> None:
    rules = RulesSettings(experience_scale=5)
    assert merchant_admission(_merchant(experience_score=4.0), NOW, rules).ok
    assert merchant_admission(_merchant(experience_score=3.9), NOW, rules).status == "not_admitted"
    assert merchant_admission(_merchant(experience_score=3.7), NOW, rules).status == "warning"
    assert merchant_admission(_merchant(experience_score=3.4), NOW, rules).status == "closed"
    # 85 would be a fine 0–100 score but is read on the configured scale: still admitted (>= 4.0)
    assert merchant_admission(_merchant(experience_score=85.0), NOW, rules).ok


def test_thresholds_must_be_ordered() -> None:
    with pytest.raises(ValueError, match="closure <= warning <= min"):
        RulesSettings(experience_warning_100=75.0)


def test_vectorized_merchant_admission_matches_scalar() -> None:
    rows = [
        merchant("a"),
        merchant("b", experience_score=66.0),
        merchant("c", good_review_rate=0.5, violations_90d=1),
        merchant("d", alliance_closures=4),
        merchant("e", joined_at=NOW - DAY, experience_score=1.0),
        merchant("f", experience_score=float("nan")),
    ]
    merchants = frame(rows, merchant())
    codes = merchant_reason_codes(merchants, NOW, RULES)
    table = merchant_admission_frame(merchants, NOW, RULES)
    for i, row in enumerate(rows):
        scalar = merchant_admission(MerchantProfile.from_row(row), NOW, RULES)
        assert table["status"][i] == scalar.status and table["reasons"][i] == scalar.reasons
        assert (codes[i] == len(REASON_CODES)) == scalar.ok
        assert scalar.ok or REASON_CODES[codes[i]] == scalar.reasons[0]
    products = frame([product("p1", "a"), product("p2", "b"), product("p3", "zz")], product())
    assert admitted_product_mask(products, merchants, NOW, RULES).tolist() == [True, False, False]


@pytest.mark.parametrize(
    ("field", "reason"),
    [
        ("real_name_verified", "creator_not_real_name_verified"),
        ("showcase_enabled", "creator_showcase_disabled"),
        ("deposit_paid", "creator_deposit_unpaid"),
    ],
)
def test_creator_admission_each_requirement_and_its_switch(field: str, reason: str) -> None:
    assert creator_admission(CreatorProfile.from_row(creator()), RULES).ok
    missing = CreatorProfile.from_row(creator(**{field: False}))
    assert creator_admission(missing, RULES).reasons == (reason,)
    switch = {"real_name_verified": "require_real_name", "showcase_enabled": "require_showcase"}.get(
        field, "require_deposit"
    )
    assert creator_admission(missing, RulesSettings(**{switch: False})).ok
    creators = frame([creator(), creator("c2", **{field: False})], creator())
    assert [REASON_CODES[c] if c < len(REASON_CODES) else None for c in creator_reason_codes(creators, RULES)] == [
        None,
        reason,
    ]


def test_plan_requirements() -> None:
    plan = PlanTerms(
        "pl",
        "p",
        "open",
        0.1,
        NOW,
        min_followers=1000,
        allowed_categories=frozenset({"beauty", "food"}),
        allowed_regions=frozenset({"north"}),
    )
    fits = CreatorProfile.from_row(creator(followers=1000, categories=["tech", "food"], region="north"))
    assert plan_requirement_reasons(plan, fits) == ()
    misses = CreatorProfile.from_row(creator(followers=999, categories=["tech"], region="south"))
    assert plan_requirement_reasons(plan, misses) == (
        "plan_min_followers_not_met",
        "plan_category_not_allowed",
        "plan_region_not_allowed",
    )
    anyone = PlanTerms("pl", "p", "open", 0.1, NOW)
    assert plan_requirement_reasons(anyone, CreatorProfile.from_row(creator(followers=0, categories=[]))) == ()


def test_bad_cells_name_the_row_and_field() -> None:
    with pytest.raises(ValueError, match=r"creators row 3 \(creator_id 'c1'\): field 'followers'"):
        CreatorProfile.from_row(creator(followers="many"), 3)
    with pytest.raises(ValueError, match="field 'tiers' tier 0"):
        PlanTerms.from_row(plan(tiers=[[1, 2, 3]]), 0)
    bools = pd.DataFrame([creator(deposit_paid="perhaps")])
    with pytest.raises(ValueError, match="creators row 0: field 'deposit_paid'"):
        creator_reason_codes(bools, RULES)
    assert np.array_equal(creator_reason_codes(pd.DataFrame([creator(deposit_paid="yes")]), RULES), [len(REASON_CODES)])
