"""Pair features of (creator, product) on hand-made feature arrays: two creators, three products, values by hand.

    creator  audience (female; 5 age bands; 4 city tiers)    usual price  region  main format
    c0       0.6;  .2 .2 .2 .2 .2;  .25 .25 .25 .25          ¥50          0       1
    c1       (same)                                          none yet     1       0

    product  target (female; age; tier)                      price  category  region  best rate
    p0       1.0;  1 0 0 0 0;  .25 .25 .25 .25               ¥200   0         0       0.20
    p1       (same)                                          ¥50    0         1       0.05
    p2       (same)                                          ¥10    1         0       0.30

Category median rates: 0.10 (category 0) and 0 (category 1: no public plan). Earlier collaborations: (c0, p1) twice
for ¥300 in total, (c1, p2) once for ¥50.
"""

from __future__ import annotations

import numpy as np
import pytest

from features.names import PAIR_FEATURES
from features.pair import pair_features


def _arrays() -> dict[str, np.ndarray]:
    aud = [0.6, 0.4, 0.2, 0.2, 0.2, 0.2, 0.2, 0.25, 0.25, 0.25, 0.25]
    tgt = [1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.25, 0.25, 0.25, 0.25]
    return {
        "creator_audience": np.array([aud, aud], dtype=np.float32),
        "product_target": np.array([tgt, tgt, tgt], dtype=np.float32),
        "product_category": np.array([0, 0, 1]),
        "creator_category_listed": np.array([[1.0, 0.0], [0.5, 1.0]]),
        "creator_category_gmv_share": np.array([[0.75, 0.25], [0.0, 0.0]]),
        "creator_category_promotions": np.zeros((2, 2)),
        "creator_category_conversion": np.full((2, 2), np.nan),
        "product_log_price": np.log([200.0, 50.0, 10.0]),
        "creator_usual_log_price": np.array([np.log(50.0), np.nan]),
        "creator_log_followers": np.log1p([10_000.0, 100.0]),
        "product_typical_promoter": np.log1p([10_000.0, 10_000.0, 10_000.0]),
        "creator_region": np.array([0, 1]),
        "product_region": np.array([0, 1, 0]),
        "cf_creator": np.array([[1.0, 2.0], [0.0, 0.0]]),
        "cf_product": np.array([[3.0, -1.0], [0.5, 0.5], [0.0, 1.0]]),
        "cf_creator_known": np.array([True, False]),
        "cf_product_known": np.array([True, True, True]),
        "product_best_rate": np.array([0.20, 0.05, 0.30]),
        "category_median_rate": np.array([0.10, 0.0]),
        "pair_keys": np.array([0 * 3 + 1, 1 * 3 + 2], dtype=np.int64),
        "pair_counts": np.array([2.0, 1.0]),
        "pair_gmv": np.array([300.0, 50.0]),
        "creator_main_format": np.array([1, 0], dtype=np.int8),
    }


def _named(c: list[int], p: list[int], **kwargs: np.ndarray) -> list[dict[str, float]]:
    out = pair_features(_arrays(), PAIR_FEATURES, np.array(c), np.array(p), **kwargs)
    assert out.dtype == np.float32 and out.shape == (len(c), len(PAIR_FEATURES))
    return [dict(zip(PAIR_FEATURES, row.tolist(), strict=True)) for row in out]


def test_audience_overlap_is_the_mean_over_share_groups_of_summed_minima() -> None:
    (x,) = _named([0], [0])
    # gender: min(.6, 1) + min(.4, 0) = .6; age: min(.2, 1) = .2; city tier: four times min(.25, .25) = 1
    assert x["x_overlap_gender"] == pytest.approx(0.6)
    assert x["x_overlap_age"] == pytest.approx(0.2)
    assert x["x_overlap_city_tier"] == pytest.approx(1.0)
    assert x["x_overlap"] == pytest.approx((0.6 + 0.2 + 1.0) / 3)


def test_price_against_the_creators_usual_price() -> None:
    above, usual, below, newcomer = _named([0, 0, 0, 1], [0, 1, 2, 0])
    assert above["x_price_vs_usual"] == pytest.approx(np.log(4))  # ¥200 against a usual ¥50
    assert usual["x_price_vs_usual"] == pytest.approx(0.0, abs=1e-6)  # ¥50: right in the creator's range
    assert below["x_price_vs_usual"] == pytest.approx(np.log(0.2))  # ¥10
    assert np.isnan(newcomer["x_price_vs_usual"])  # no history: unknown, not "fits perfectly"


def test_commission_against_the_category_median_with_an_offered_rate() -> None:
    best, low, no_median = _named([0, 0, 0], [0, 1, 2])
    assert best["x_commission_rate"] == pytest.approx(0.20) and best["x_commission_vs_category"] == pytest.approx(2.0)
    assert low["x_commission_vs_category"] == pytest.approx(0.5)  # 0.05 / 0.10
    assert np.isnan(no_median["x_commission_vs_category"])  # category 1 has no median rate to compare with
    # a rate offered to this creator (a targeted plan, say) replaces the product's best public rate
    (offered,) = _named([0], [0], rate=np.array([0.35]))
    assert offered["x_commission_rate"] == pytest.approx(0.35)
    assert offered["x_commission_vs_category"] == pytest.approx(3.5)


def test_earlier_collaborations_category_region_collaborative_and_format() -> None:
    never, twice, c1_p2 = _named([0, 0, 1], [0, 1, 2])
    assert never["x_prev_promotions"] == 0 and never["x_prev_gmv"] == 0
    assert twice["x_prev_promotions"] == pytest.approx(np.log1p(2))
    assert twice["x_prev_gmv"] == pytest.approx(np.log1p(300))
    assert c1_p2["x_prev_promotions"] == pytest.approx(np.log1p(1)) and c1_p2["x_prev_gmv"] == pytest.approx(
        np.log1p(50)
    )
    # the product's category picks the creator's column: c1 lists category 1 (p2) fully
    assert c1_p2["x_category_listed"] == 1.0 and never["x_category_listed"] == 1.0
    assert twice["x_category_gmv_share"] == pytest.approx(0.75)
    assert never["x_same_region"] == 1.0 and twice["x_same_region"] == 0.0 and c1_p2["x_same_region"] == 0.0
    assert never["x_cf_score"] == pytest.approx(1.0)  # (1, 2) . (3, -1)
    assert never["x_cf_known"] == 1.0 and c1_p2["x_cf_known"] == 0.0
    assert never["x_size_vs_typical_promoter"] == pytest.approx(0.0)
    assert c1_p2["x_size_vs_typical_promoter"] == pytest.approx(np.log1p(100) - np.log1p(10_000))
    assert never["x_format"] == 1.0 and c1_p2["x_format"] == 0.0  # the creator's usual format by default
    (live,) = _named([0], [0], fmt=np.array([2]))
    assert live["x_format"] == 2.0


def test_embedding_similarity_pairs_follow_the_base_features() -> None:
    arrays = _arrays()
    arrays["cemb_content"] = np.array([[1.0, 0.0], [0.6, 0.8]], dtype=np.float32)
    arrays["pemb_title"] = np.array([[0.6, 0.8], [0.0, 1.0], [1.0, 0.0]], dtype=np.float32)
    names = [*PAIR_FEATURES, "x_emb_content__title"]
    out = pair_features(arrays, names, np.array([0, 1, 1]), np.array([0, 0, 2]))
    np.testing.assert_allclose(out[:, -1], [0.6, 1.0, 0.6], rtol=1e-6)  # cosine of unit vectors
