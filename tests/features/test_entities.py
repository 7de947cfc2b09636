"""Creator and product feature blocks on hand-written frames; each expected value is worked out in a comment.

Cutoff 2024-06-01. Products (merchant m1, experience 4.5 on a 0–5 scale):

    product category price  plans (type rate starts ends)                                        best public rate
    p1      beauty   10     open 0.10 active; tiered 0.20 active; exclusive 0.50 active (listed)   0.20
    p2      beauty   20     open 0.30 from 06-02 (later); open 0.05 ended 05-31; open 0.10 from 06-01  0.10
    p3      beauty   40     open 0.40 active                                                      0.40
    p4      food     5      none                                                                  missing
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.entities import Extras, best_public_rate, creator_block, fan_tier_codes, product_block
from features.history import History
from recsys.core.schema import PROMOTION_FORMATS
from tests.features.frames import promotions, shares

CUTOFF = pd.Timestamp("2024-06-01")
T = pd.Timestamp


def _creators() -> pd.DataFrame:
    base = {
        "name": "n",
        "region": "r1",
        "real_name_verified": True,
        "showcase_enabled": True,
        "deposit_paid": True,
        "avg_views": 999.0,
        "like_rate": 0.05,
        "comment_rate": 0.01,
        "share_rate": 0.02,
        "completion_rate": 0.4,
        **shares("aud", 0.7, [0.2, 0.4, 0.2, 0.1, 0.1], [0.1, 0.2, 0.3, 0.4]),
    }
    rows = [
        {"creator_id": "c1", "followers": 4_999, "categories": ["beauty"], "joined_at": T("2024-05-01")},
        {"creator_id": "c2", "followers": 5_000, "categories": ["beauty", "food"], "joined_at": T("2023-06-01")},
        {"creator_id": "c3", "followers": 1_000_000, "categories": ["food"], "joined_at": T("2020-01-01")},
    ]
    frame = pd.DataFrame([{**base, **row} for row in rows])
    frame["fans_growth_30d"] = [0.5, -0.1, 2.0]  # an extra numeric column
    frame["content_embedding"] = [[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]]  # an extra embedding column
    return frame


def _products() -> pd.DataFrame:
    target = shares("target", 0.9, [0.5, 0.3, 0.1, 0.05, 0.05], [0.25, 0.25, 0.25, 0.25])
    rows = [
        {"product_id": "p1", "category": "beauty", "price": 10.0, **target},
        {"product_id": "p2", "category": "beauty", "price": 20.0, **target},
        {"product_id": "p3", "category": "beauty", "price": 40.0, **target},
        {"product_id": "p4", "category": "food", "price": 5.0, **{k: np.nan for k in target}},
    ]
    base = {"merchant_id": "m1", "title": "t", "rating": 4.8, "service_score": 4.6, "listed_at": T("2024-05-22")}
    return pd.DataFrame([{**base, **row} for row in rows])


def _merchants() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "merchant_id": ["m1"],
            "name": ["shop"],
            "joined_at": [T("2023-06-01")],
            "experience_score": [4.5],
            "good_review_rate": [0.97],
            "violations_90d": [1],
            "alliance_closures": [0],
            "region": ["r1"],
        }
    )


def _plans() -> pd.DataFrame:
    rows = [
        ("p1", "open", 0.10, "2024-01-01", None),
        ("p1", "tiered", 0.20, "2024-01-01", "2024-12-31"),
        ("p1", "exclusive", 0.50, "2024-01-01", None),
        ("p2", "open", 0.30, "2024-06-02", None),
        ("p2", "open", 0.05, "2024-01-01", "2024-05-31"),
        ("p2", "open", 0.10, "2024-06-01", None),
        ("p3", "open", 0.40, "2024-01-01", None),
    ]
    frame = pd.DataFrame(rows, columns=["product_id", "plan_type", "commission_rate", "starts_at", "ends_at"])
    frame["starts_at"] = pd.to_datetime(frame["starts_at"])
    frame["ends_at"] = pd.to_datetime(frame["ends_at"])
    return frame


def _history(creators: pd.DataFrame, products: pd.DataFrame) -> History:
    # one promotion of p3 by c2, two days before the cutoff: GMV 300 over 6,000 views
    rows = [("c2", "p3", "2024-05-30", 6_000, 60, 6, 300, 0, 0, 0, 0, "video")]
    return History.of(
        promotions(rows), pd.Index(creators["creator_id"]), pd.Index(products["product_id"]), CUTOFF, PROMOTION_FORMATS
    )


def test_fan_tiers_start_at_their_lower_bounds() -> None:
    # nano < 5k <= micro < 20k <= mid < 100k <= macro < 1M <= mega
    followers = np.array([0, 4_999, 5_000, 19_999, 20_000, 100_000, 999_999, 1_000_000])
    assert fan_tier_codes(followers).tolist() == [0, 0, 1, 1, 2, 3, 3, 4]


def test_the_best_public_rate_ignores_listed_future_and_ended_plans() -> None:
    rate = best_public_rate(_plans(), pd.Index(["p1", "p2", "p3", "p4"]), CUTOFF)
    np.testing.assert_allclose(rate[:3], [0.20, 0.10, 0.40])
    assert np.isnan(rate[3])


def test_creator_block_reach_tenure_and_extras() -> None:
    creators = _creators()
    block = creator_block(creators, _history(creators, _products()), CUTOFF, Extras.of(creators, "creators"))
    assert list(block.index) == ["c1", "c2", "c3"]
    np.testing.assert_allclose(block["c_log_followers"], np.log1p([4_999, 5_000, 1_000_000]))
    assert block["c_fan_tier"].tolist() == [0.0, 1.0, 4.0]  # nano, micro, mega
    assert block["c_days_since_joined"].tolist() == [31.0, 366.0, 1613.0]  # 2024 is a leap year
    assert block["c_n_categories"].tolist() == [1.0, 2.0, 1.0]
    assert block["c_aud_female"].tolist() == pytest.approx([0.7] * 3)
    # sales history lands on the creator who sold: c2 sold ¥300 two days ago
    assert block["c_log_gmv_7d"].tolist() == pytest.approx([0.0, np.log1p(300), 0.0])
    # extras pass through under c_x_ names, embeddings one column per dimension
    assert block["c_x_fans_growth_30d"].tolist() == pytest.approx([0.5, -0.1, 2.0])
    assert block["c_x_content_embedding_1"].tolist() == pytest.approx([0.0, 1.0, 0.8])


def test_product_block_price_commission_target_and_merchant() -> None:
    creators, products = _creators(), _products()
    block = product_block(
        products,
        _merchants(),
        _plans(),
        _history(creators, products),
        CUTOFF,
        ["beauty", "food"],
        experience_scale=5,
        extras=Extras.of(products, "products"),
    )
    assert block["p_category"].tolist() == [0.0, 0.0, 0.0, 1.0]
    # price band: rank within the category (10 < 20 < 40 among beauty; alone in food)
    assert block["p_price_band"].tolist() == pytest.approx([1 / 3, 2 / 3, 1.0, 1.0])
    # price against the category's median log price (beauty median: log 20)
    assert block["p_price_vs_category"].tolist() == pytest.approx([-np.log(2), 0.0, np.log(2), 0.0])
    # commission against the category median of best rates (beauty: median of 0.2, 0.1, 0.4 = 0.2)
    assert block["p_best_rate"].iloc[:3].tolist() == pytest.approx([0.2, 0.1, 0.4])
    assert block["p_rate_vs_category"].iloc[:3].tolist() == pytest.approx([1.0, 0.5, 2.0])
    assert np.isnan(block["p_best_rate"].iloc[3]) and np.isnan(block["p_rate_vs_category"].iloc[3])
    assert block["p_has_target"].tolist() == [1.0, 1.0, 1.0, 0.0]  # p4 publishes no target audience
    assert block["p_days_listed"].tolist() == [10.0] * 4
    # sales history lands on the product sold: p3, ¥300 over 6,000 views = GPM 50, one creator in 90 days
    assert block["p_gpm_7d"].iloc[2] == pytest.approx(50.0) and np.isnan(block["p_gpm_7d"].iloc[0])
    assert block["p_n_creators_90d"].tolist() == [0.0, 0.0, 1.0, 0.0]
    # the merchant's 4.5 of 5 is 90 of 100
    assert block["m_experience_score"].tolist() == pytest.approx([90.0] * 4)
    assert block["m_days_since_joined"].tolist() == [366.0] * 4
