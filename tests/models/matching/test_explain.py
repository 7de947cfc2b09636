"""Reasons of a page, worked by hand: which codes an item shows (evidence > 0, eligible, spread over the page), the
exact figures they quote, and the coverage measure.

Selection on a tiny evidence matrix (codes A, B, C; 4 items; per_item 2, lead cap ceil(0.25 x 4) = 1, decay 0.5):

    item  A     B     C             shown before (A, B, C)  adjusted (A, B, C)        shows  (leader first)
    0     0.9   0.5   0.2           0 0 0                   0.9  0.5   0.2            A B
    1     0.8   0.3  -0.1           1 1 0                   0.4  0.15  -              B A    (A already led once)
    2     0.6   0.0   0.4 (inel.)   2 2 0                   0.15 -     -              A      (nothing else to lead)
    3     0.7   0.6   0.5           3 2 0                   .0875 0.15 0.5            C B

Without the spread (decay 1, no cap) A would lead every item: A B, A B, A, A B. Evidence below 0.001 never counts.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from features.tables import FeatureTables
from models.matching.explain import Reason, ReasonExplainer, Selection, choose, evidence_weights, reason_type_coverage
from models.matching.reasons import SPEC
from recsys.core.vocab import Direction, ReasonCode, Vocabulary

EVIDENCE = np.array([[0.9, 0.5, 0.2], [0.8, 0.3, -0.1], [0.6, 0.0, 0.4], [0.7, 0.6, 0.5]])
ELIGIBLE = np.array([[1, 1, 1], [1, 1, 1], [1, 1, 0], [1, 1, 1]], dtype=bool)
A, B, C = 0, 1, 2


def test_a_page_spreads_its_leading_reasons() -> None:
    assert choose(EVIDENCE, ELIGIBLE, Selection(per_item=2, lead_share=0.25, repeat_decay=0.5)) == [
        [A, B],
        [B, A],
        [A],
        [C, B],
    ]
    assert choose(EVIDENCE, ELIGIBLE, Selection(per_item=2, lead_share=1.0, repeat_decay=1.0)) == [
        [A, B],
        [A, B],
        [A],
        [A, B],
    ]


def test_only_eligible_reasons_with_positive_evidence_are_shown() -> None:
    none = np.zeros((1, 3), dtype=bool)
    assert choose(EVIDENCE[:1], none) == [[]]
    assert choose(-EVIDENCE[:1], ELIGIBLE[:1]) == [[]]


def test_evidence_is_the_sum_over_a_codes_feature_prefixes() -> None:
    names = ["x_overlap", "x_overlap_age", "c_log_followers", "x_cf_score", "x_size_vs_typical_promoter"]
    specs = [SPEC[ReasonCode.AUDIENCE_MATCH], SPEC[ReasonCode.REACH], SPEC[ReasonCode.SIMILAR_CREATORS_SOLD]]
    weights = evidence_weights(names, specs)
    np.testing.assert_array_equal(weights, [[1, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 1]])


# --- a tiny bundle: creators c0 (30,000,000 followers, mega) and c1 (8,000, micro); products p0 (beauty, ¥108,
# published target) and p1 (food, ¥59.90, no target); c0 promoted p0 3 times before (¥1,234.50, 12 orders) -------

NAMES = (
    ["c_log_followers", "c_completion_rate", "c_log_gmv_30d"],
    ["p_rating", "p_log_gmv_30d"],
    [
        *["x_overlap", "x_overlap_age", "x_category_promotions", "x_price_vs_usual", "x_commission_rate"],
        *["x_prev_gmv", "x_same_region", "x_cf_score"],
    ],
)
FEATURES = [n for block in NAMES for n in block]


def _arrays() -> dict[str, np.ndarray]:
    f32 = np.float32
    return {
        # existing pair-feature inputs
        "creator_audience": np.array(
            [[0.78, 0.22, 0.1, 0.41, 0.3, 0.1, 0.09, 0.4, 0.3, 0.2, 0.1], [0.3, 0.7] + [0.2] * 5 + [0.25] * 4], f32
        ),
        "product_target": np.array(
            [[0.7, 0.3, 0.2, 0.45, 0.2, 0.1, 0.05, 0.4, 0.3, 0.2, 0.1], [0.5, 0.5] + [0.2] * 5 + [0.25] * 4], f32
        ),
        "creator_category_gmv_share": np.array([[0.6, 0.4], [0.0, 0.0]], f32),
        "creator_fan_tier": np.array([4, 1], np.int8),
        "creator_region": np.array([0, 1], np.int16),
        "product_region": np.array([0, 1], np.int16),
        "product_category": np.array([0, 1], np.int32),
        "category_median_rate": np.array([0.1, 0.2], f32),
        "pair_keys": np.array([0]),  # c0 x 2 products + p0
        "pair_counts": np.array([3.0], f32),
        "pair_orders": np.array([12.0], f32),
        # evidence
        "pair_sales_gmv": np.array([1_234.5]),
        "creator_followers": np.array([30_000_000, 8_000]),
        "creator_avg_views": np.array([1_234_567.8, 900.0]),
        "creator_completion_rate": np.array([0.62, 0.40]),
        "creator_completion_top_share": np.array([0.1, 0.75], f32),
        "creator_gmv_30d": np.array([1_530.0, 0.0]),
        "creator_orders_30d": np.array([15, 0]),
        "creator_price_p25": np.array([82.475, np.nan]),
        "creator_price_p75": np.array([113.5, np.nan]),
        "creator_category_promotion_count": np.array([[2, 1], [0, 0]], np.int32),
        "creator_category_gpm": np.array([[38.25, 26.0], [np.nan, np.nan]], f32),
        "product_price": np.array([108.0, 59.9]),
        "product_has_target": np.array([True, False]),
        "product_rating": np.array([4.8, 3.9]),
        "product_shop_good_review_rate": np.array([0.9812, 0.9]),
        "product_gmv_30d": np.array([1_620.0, 0.0]),
        "product_orders_30d": np.array([15, 0]),
        "product_gmv_30d_top_share": np.array([0.25, 1.0], f32),
        "product_tier_creators_90d": np.array([[0, 2, 0, 0, 1], [0, 0, 0, 0, 0]], np.int32),
        "product_tier_gmv_90d": np.array([[0, 648.0, 0, 0, 1_080.0], [0.0] * 5]),
        "region_names": np.array(["east", "south"]),
    }


def _tables(arrays: dict[str, np.ndarray]) -> FeatureTables:
    return FeatureTables(
        cutoff=pd.Timestamp("2024-06-01"),
        creators=Vocabulary(["c0", "c1"]),
        products=Vocabulary(["p0", "p1"]),
        categories=["beauty", "food"],
        creator_names=NAMES[0],
        product_names=NAMES[1],
        pair_names=NAMES[2],
        creator=np.zeros((2, 3), np.float32),
        product=np.zeros((2, 2), np.float32),
        arrays=arrays,
    )


def _contributions(rows: list[dict[str, float]]) -> np.ndarray:
    out = np.zeros((len(rows), len(FEATURES) + 1))
    out[:, -1] = 7.0  # the bias is never evidence
    for i, row in enumerate(rows):
        for name, value in row.items():
            out[i, FEATURES.index(name)] = value
    return out


def _codes(reasons: list[list[Reason]]) -> list[list[ReasonCode]]:
    return [[r.code for r in item] for item in reasons]


def test_a_merchants_page_quotes_exact_figures() -> None:
    explainer = ReasonExplainer(_tables(_arrays()), Direction.PRODUCT)
    contributions = _contributions(
        [
            # c0 for p0: audience 0.25 + 0.15, earlier promotions 0.35, reach 0.3, content 0.05, commission 0.01;
            # p_rating 0.5 is a creator-side reason (a merchant knows its own product's rating)
            {"x_overlap": 0.25, "x_overlap_age": 0.15, "x_prev_gmv": 0.35, "c_log_followers": 0.3}
            | {"c_completion_rate": 0.05, "x_commission_rate": 0.01, "p_rating": 0.5},
            # c1 for p0: overlap 0.6 but c1's followers do not match (ineligible); reach decays to 0.1 (shown above)
            {"x_overlap": 0.6, "c_log_followers": 0.2, "x_cf_score": 0.15, "x_commission_rate": 0.12},
        ]
    )
    first, second = explainer.explain(contributions, np.array([0, 1]), np.array([0, 0]), np.array([0.25, 0.25]))
    assert _codes([first, second]) == [
        [ReasonCode.AUDIENCE_MATCH, ReasonCode.SOLD_THIS_PRODUCT_BEFORE, ReasonCode.REACH],
        [ReasonCode.SIMILAR_CREATORS_SOLD, ReasonCode.COMMISSION_ABOVE_CATEGORY, ReasonCode.REACH],
    ]
    # overlap: gender 0.70 + 0.22, age 0.10 + 0.41 + 0.20 + 0.10 + 0.05, city tiers 1.00 -> (0.92 + 0.86 + 1) / 3
    assert first[0].params == {
        "overlap": 0.9267,
        "gender": "female",
        "creator_gender_share": 0.78,
        "target_gender_share": 0.7,
        "age": "age_24_30",
        "creator_age_share": 0.41,
        "target_age_share": 0.45,
    }
    assert first[0].contribution == pytest.approx(0.4)
    assert first[1].params == {"promotions": 3, "gmv": 1_234.5, "orders": 12}
    assert first[2].params == {"followers": 30_000_000, "avg_views": 1_234_567.8}
    assert first[2].text == "30,000,000 followers, 1,234,568 views per post on average"
    assert second[0].params == {"fan_tier": "micro", "creators": 2, "gmv": 648.0}
    assert second[0].text == (
        "2 micro-tier creators like this one promoted your product in the last 90 days, selling ¥648"
    )
    assert second[1].text == "your commission 25% is 2.5× the beauty median of 10%"
    assert isinstance(first[2].params["followers"], int)


def test_a_creators_page_reads_for_the_creator_and_skips_merchant_side_codes() -> None:
    explainer = ReasonExplainer(_tables(_arrays()), Direction.CREATOR)
    contributions = _contributions(
        [
            # c0 x p0: reach 0.9 is merchant-side only; rating 0.3, category 0.25, sales 0.2, price 0.1
            {"c_log_followers": 0.9, "p_rating": 0.3, "x_category_promotions": 0.25, "p_log_gmv_30d": 0.2}
            | {"x_price_vs_usual": 0.1},
            # c0 x p1 (food, ¥59.90 below c0's usual ¥82.48–¥113.50, rated 3.9): only the category history holds
            {"p_rating": 0.5, "x_category_promotions": 0.3, "x_price_vs_usual": 0.4},
        ]
    )
    first, second = explainer.explain(contributions, np.array([0, 0]), np.array([0, 1]), np.array([0.25, 0.15]))
    assert _codes([first, second]) == [
        [ReasonCode.HIGH_RATING, ReasonCode.PROMOTED_SIMILAR, ReasonCode.PRODUCT_SELLING_WELL],
        [ReasonCode.PROMOTED_SIMILAR],
    ]
    assert first[0].params == {"rating": 4.8, "shop_good_review_rate": 0.9812}
    assert first[2].params == {"gmv_30d": 1_620.0, "orders_30d": 15}
    assert second[0].params == {"category": "food", "promotions": 1, "gmv_share": 0.4, "gpm": 26.0}
    assert second[0].text == (
        "you promoted similar products: 1 in food in the last 90 days, avg GPM ¥26, 40% of your GMV"
    )


def test_a_bundle_without_evidence_arrays_shows_only_what_it_can_quote() -> None:
    old = {k: v for k, v in _arrays().items() if k in {"creator_audience", "product_target", "category_median_rate"}}
    old |= {k: _arrays()[k] for k in ("product_category", "creator_fan_tier", "pair_keys", "pair_counts")}
    for direction in (Direction.CREATOR, Direction.PRODUCT):
        explainer = ReasonExplainer(_tables(old), direction)
        assert [s.code for s in explainer.specs] == [ReasonCode.COMMISSION_ABOVE_CATEGORY]
    got = explainer.explain(_contributions([{"x_commission_rate": 0.2}]), np.array([1]), np.array([0]), np.array([0.3]))
    assert _codes(got) == [[ReasonCode.COMMISSION_ABOVE_CATEGORY]]


def _reason(code: ReasonCode) -> Reason:
    return Reason(code, {}, "", 1.0)


def test_coverage_is_the_share_of_lists_with_four_distinct_codes() -> None:
    rich = [[_reason(ReasonCode.REACH), _reason(ReasonCode.PRICE_FIT)], [_reason(ReasonCode.REGION_MATCH)]]
    rich += [[_reason(ReasonCode.STRONG_CONTENT), _reason(ReasonCode.REACH)]]  # 4 distinct over 3 items
    poor = [[_reason(ReasonCode.REACH)], [_reason(ReasonCode.REACH), _reason(ReasonCode.PRICE_FIT)], []]
    assert reason_type_coverage([rich, poor]) == 0.5
    assert reason_type_coverage([poor], min_codes=2) == 1.0
    assert math.isnan(reason_type_coverage([]))
