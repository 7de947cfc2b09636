"""Reasons in words on a tiny hand-made contribution matrix: the strongest positive contributions, best first, as
sentences a creator or merchant reads.

    features        x_overlap  p_rating  c_log_gmv_30d  x_commission_rate  (bias)
    row 0 contrib     0.5       -0.2        0.1              0.3             9.0
    row 0 value       0.81       4.7        6.0              0.2
    row 1 contrib    -0.1        0.4        0.0             -0.3             5.0
    row 1 value       0.30       4.3        0.0              0.1

Row 0's top 3: x_overlap (0.5), x_commission_rate (0.3), c_log_gmv_30d (0.1); p_rating pulled it down and the bias
is not a feature. Row 1 has one positive contribution: p_rating (0.4).
"""

from __future__ import annotations

import numpy as np
import pytest

from models.matching.explain import describe, top_reasons

NAMES = ["x_overlap", "p_rating", "c_log_gmv_30d", "x_commission_rate"]
CONTRIBUTIONS = np.array([[0.5, -0.2, 0.1, 0.3, 9.0], [-0.1, 0.4, 0.0, -0.3, 5.0]])
VALUES = np.array([[0.81, 4.7, 6.0, 0.2], [0.30, 4.3, 0.0, 0.1]])


def test_the_strongest_positive_contributions_come_first_in_words() -> None:
    row0, row1 = top_reasons(CONTRIBUTIONS, VALUES, NAMES, n=3)
    assert [r.feature for r in row0] == ["x_overlap", "x_commission_rate", "c_log_gmv_30d"]
    assert [r.contribution for r in row0] == [0.5, 0.3, 0.1]
    assert [r.text for r in row0] == [
        "the creator's audience overlaps 81% with the product's target buyers",
        "commission rate 20%",
        "the creator's strong recent sales",
    ]
    # only what pushed the recommendation up is a reason: no negative, no zero, never the bias
    assert [(r.feature, r.text) for r in row1] == [("p_rating", "product rating 4.3/5")]


def test_n_caps_the_number_of_reasons() -> None:
    (row0, _) = top_reasons(CONTRIBUTIONS, VALUES, NAMES, n=1)
    assert [r.feature for r in row0] == ["x_overlap"]


@pytest.mark.parametrize(
    ("feature", "value", "sentence"),
    [
        ("x_prev_gmv", np.log1p(1234.4), "earlier promotions of this product by the creator sold ¥1,234"),
        ("x_prev_promotions", np.log1p(3), "the creator promoted this product 3 time(s) before"),
        ("x_category_promotions", np.log1p(12), "the creator promoted 12 products of this category in 90 days"),
        ("c_log_followers", np.log1p(12_345), "12,345 followers"),
        ("p_log_price", np.log(59.0), "price ¥59"),
        ("x_commission_vs_category", 1.5, "commission is 1.5x the category median"),
        ("x_category_gmv_share", 0.25, "25% of the creator's recent GMV is in this category"),
        ("x_category_listed", 0.5, "the product's category is one of the creator's content categories"),
        ("x_category_listed", 0.0, "the product is outside the creator's usual categories"),
        ("x_price_vs_usual", 0.1, "the price is close to what the creator's audience usually buys"),
        ("x_price_vs_usual", 0.7, "the price is above the creator's usual range"),
        ("x_price_vs_usual", -0.7, "the price is below the creator's usual range"),
        ("x_size_vs_typical_promoter", 2.0, "the creator is larger than this product's usual promoters"),
        ("x_size_vs_typical_promoter", -2.0, "the creator is a smaller account"),
    ],
)
def test_sentence_templates_read_the_value_in_the_users_units(feature: str, value: float, sentence: str) -> None:
    assert describe(feature, value) == sentence


@pytest.mark.parametrize(
    ("feature", "value", "sentence"),
    [
        ("x_overlap", float("nan"), "the creator–product fit"),  # no value to quote: the family's sentence
        ("p_target_female", 0.9, "the product's target audience"),  # the closest family wins over "p_"
        ("p_gpm_7d", 80.0, "the product earns a high GMV per 1,000 views"),
        ("c_aud_age_18_23", 0.4, "the creator's audience profile"),
        ("m_good_review_rate", 0.98, "the merchant's service quality"),
        ("x_emb_content__title", 0.9, "the creator's content is similar to the product's description"),
        ("something_else", 1.0, "something_else"),
    ],
)
def test_features_without_a_template_fall_back_to_their_family(feature: str, value: float, sentence: str) -> None:
    assert describe(feature, value) == sentence
