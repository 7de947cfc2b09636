"""Evidence arrays (the figures reasons quote) on a hand-written marketplace, every figure worked out by hand.

Cutoff 2024-06-01. Creators: c1 30,000,000 followers (mega, completion 0.62), c2 8,000 (micro, 0.40), c3 12,000
(micro, 0.40), c4 3,000 (nano, 0.10). Products: p1 beauty ¥108, p2 beauty ¥90, p3 food ¥130, p4 food ¥59.90.

    promo  creator product started     age    views   orders  gmv
    A      c1      p1      2024-05-25  7 d    10,000  10      1,080.00
    B      c1      p2      2024-05-10  22 d   30,000  5       450.00
    C      c1      p3      2024-04-01  61 d   20,000  4       520.00
    D      c1      p4      2024-01-01  152 d  1,000   1       59.90    (outside 90 days)
    E      c2      p1      2024-05-20  12 d   5,000   3       324.00
    F      c3      p1      2024-04-15  47 d   2,000   1       108.00
    G      c3      p1      2024-05-30  2 d    1,000   2       216.00
    H      c4      p1      2024-02-01  121 d  500     1       108.00   (outside 90 days)
    I      c1      p1      2024-06-02  after the cutoff: never read (gmv 99,999)
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from features import build_feature_tables
from features.evidence import (
    creator_category_evidence,
    creator_price_range,
    evidence_arrays,
    product_sales_by_fan_tier,
    top_share,
)
from features.history import History
from features.tables import FeatureTables
from recsys.core.schema import PROMOTION_FORMATS, audience_columns
from recsys.core.synth import SynthConfig, generate
from recsys.core.vocab import FanTier
from tests.features.frames import promotions, shares

CUTOFF = pd.Timestamp("2024-06-01")
CREATORS = pd.Index(["c1", "c2", "c3", "c4"])
PRODUCTS = pd.Index(["p1", "p2", "p3", "p4"])
CATEGORY = np.array([0, 0, 1, 1])  # beauty, beauty, food, food
PRICE = np.array([108.0, 90.0, 130.0, 59.9])
ROWS = [
    ("c1", "p1", "2024-05-25", 10_000, 100, 10, 1_080.0, 0, 0, 0, 0, "video"),
    ("c1", "p2", "2024-05-10", 30_000, 100, 5, 450.0, 0, 0, 0, 0, "video"),
    ("c1", "p3", "2024-04-01", 20_000, 100, 4, 520.0, 0, 0, 0, 0, "live"),
    ("c1", "p4", "2024-01-01", 1_000, 10, 1, 59.9, 0, 0, 0, 0, "video"),
    ("c2", "p1", "2024-05-20", 5_000, 50, 3, 324.0, 0, 0, 0, 0, "post"),
    ("c3", "p1", "2024-04-15", 2_000, 20, 1, 108.0, 0, 0, 0, 0, "video"),
    ("c3", "p1", "2024-05-30", 1_000, 20, 2, 216.0, 0, 0, 0, 0, "video"),
    ("c4", "p1", "2024-02-01", 500, 5, 1, 108.0, 0, 0, 0, 0, "video"),
    ("c1", "p1", "2024-06-02", 90_000, 900, 900, 99_999.0, 0, 0, 0, 0, "video"),
]
MICRO, MEGA = FanTier.MICRO.code, FanTier.MEGA.code


@pytest.fixture(scope="module")
def history() -> History:
    return History.of(promotions(ROWS), CREATORS, PRODUCTS, CUTOFF, PROMOTION_FORMATS)


def _frames() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    creators = pd.DataFrame(
        {
            "creator_id": CREATORS,
            "followers": [30_000_000, 8_000, 12_000, 3_000],
            "avg_views": [1_234_567.8, 900.0, 1_500.0, 120.5],
            "completion_rate": [0.62, 0.40, 0.40, 0.10],
        }
    )
    target = pd.DataFrame([shares("target", 0.7, [0.2, 0.45, 0.2, 0.1, 0.05], [0.4, 0.3, 0.2, 0.1])] + [{}] * 3)
    products = pd.concat(
        [
            pd.DataFrame({"product_id": PRODUCTS, "merchant_id": ["m1", "m1", "m2", "m2"], "price": PRICE}),
            target.reindex(columns=audience_columns("target")),
        ],
        axis=1,
    ).assign(rating=[4.8, 4.5, 4.71, 3.9])
    merchants = pd.DataFrame({"merchant_id": ["m2", "m1"], "good_review_rate": [0.9, 0.9812]})
    return creators, products, merchants


def test_top_share_is_the_share_at_least_as_high() -> None:
    # of 4 known values, 0.9 is the top 1/4; both 0.5s have 3 values at least as high; NaN stays unknown
    got = top_share(np.array([0.2, 0.5, 0.5, 0.9, np.nan]))
    np.testing.assert_allclose(got, [1.0, 0.75, 0.75, 0.25, np.nan])


def test_category_promotions_and_gpm_over_90_days(history: History) -> None:
    got = creator_category_evidence(history, CATEGORY, 2)
    # c1 beauty: A + B; food: C (D is 152 days old); c3 beauty: F + G
    np.testing.assert_array_equal(got["creator_category_promotion_count"], [[2, 1], [1, 0], [2, 0], [0, 0]])
    gpm = got["creator_category_gpm"]
    assert gpm[0, 0] == 38.25  # 1,000 x (1,080 + 450) / (10,000 + 30,000)
    assert gpm[0, 1] == 26.0  # 1,000 x 520 / 20,000
    assert gpm[1, 0] == pytest.approx(64.8)  # 1,000 x 324 / 5,000
    assert gpm[2, 0] == 108.0  # 1,000 x (108 + 216) / (2,000 + 1,000)
    assert np.isnan(gpm[3]).all()  # no views in 90 days: no GPM


def test_usual_price_range_needs_three_promotions(history: History) -> None:
    low, high = creator_price_range(history, PRICE)
    # c1 promoted p1 108, p2 90, p3 130, p4 59.90 -> sorted 59.9 90 108 130; quartiles by linear interpolation:
    # p25 at position 0.75 = 59.9 + 0.75 x 30.1 = 82.475; p75 at position 2.25 = 108 + 0.25 x 22 = 113.5
    assert low[0] == pytest.approx(82.475) and high[0] == pytest.approx(113.5)
    assert np.isnan(low[1:]).all() and np.isnan(high[1:]).all()  # 1, 2 and 1 promotions


def test_product_sales_by_fan_tier_count_distinct_creators(history: History) -> None:
    tier = FanTier.codes(np.array([30_000_000, 8_000, 12_000, 3_000]))
    creators, gmv = product_sales_by_fan_tier(history, tier)
    # p1 in 90 days: c1 (mega) A; c2 (micro) E; c3 (micro) F and G -> 2 micro creators, GMV 324 + 108 + 216
    assert creators[0].tolist() == [0, 2, 0, 0, 1] and gmv[0, MICRO] == 648.0 and gmv[0, MEGA] == 1_080.0
    assert creators[1, MEGA] == 1 and gmv[1, MEGA] == 450.0
    assert creators[3].sum() == 0  # p4's only promotion (D) is 152 days old


def test_evidence_arrays_keep_stored_values(history: History) -> None:
    creators, products, merchants = _frames()
    a = evidence_arrays(creators, products, merchants, history, CATEGORY, 2, ["east", "south"])
    assert a["creator_followers"].dtype == np.int64 and a["creator_followers"][0] == 30_000_000
    assert a["creator_avg_views"][0] == 1_234_567.8
    # 30 days: c1 A + B; c2 E; c3 G (F is 47 days old); products: p1 A + E + G, p2 B, p3 C is 61 days old
    assert a["creator_gmv_30d"].tolist() == [1_530.0, 324.0, 216.0, 0.0]
    assert a["creator_orders_30d"].tolist() == [15, 3, 2, 0]
    assert a["product_gmv_30d"].tolist() == [1_620.0, 450.0, 0.0, 0.0]
    assert a["product_orders_30d"].tolist() == [15, 5, 0, 0]
    np.testing.assert_allclose(a["product_gmv_30d_top_share"], [0.25, 0.5, 1.0, 1.0])
    np.testing.assert_allclose(a["creator_completion_top_share"], [0.25, 0.75, 0.75, 1.0])
    assert a["product_has_target"].tolist() == [True, False, False, False]
    assert a["product_shop_good_review_rate"].tolist() == [0.9812, 0.9812, 0.9, 0.9]  # each product's merchant
    assert a["product_price"][3] == 59.9 and a["product_rating"][2] == 4.71
    assert a["region_names"].tolist() == ["east", "south"]


def test_followers_stay_exact_where_the_log_feature_does_not(tmp_path) -> None:  # type: ignore[no-untyped-def]
    market = generate(SynthConfig(creators=60, products=200, promotions=1500, seed=3)).market
    creators = market.creators.copy()
    creators.loc[0, "followers"] = 30_000_000
    tables = build_feature_tables(replace(market, creators=creators), pd.Timestamp("2026-06-15"), cf_factors=4)
    log_feature = tables.creator[0, tables.creator_names.index("c_log_followers")]
    assert round(float(np.expm1(np.float64(log_feature)))) != 30_000_000  # what inverting the transform gives
    tables.save(tmp_path)
    loaded = FeatureTables.load(tmp_path)  # evidence arrays persist with the tables
    assert loaded.arrays["creator_followers"][0] == 30_000_000
    for name in ("region_names", "creator_price_p25", "product_tier_gmv_90d", "pair_sales_gmv"):
        np.testing.assert_array_equal(loaded.arrays[name], tables.arrays[name], err_msg=name)
