"""Feature builders: point in time, float32 vectors with one list of names, extras passing through."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from features import FEATURE_NAMES, build_feature_tables
from features.pair import pair_features
from features.tables import FeatureTables
from recsys.core.synth import SynthConfig, generate

CUTOFF = pd.Timestamp("2026-05-15")


@pytest.fixture(scope="module")
def market():  # type: ignore[no-untyped-def]
    return generate(SynthConfig(creators=120, products=400, promotions=4000, seed=2)).market


def test_features_only_see_the_past(market) -> None:  # type: ignore[no-untyped-def]
    full = build_feature_tables(market, CUTOFF, cf_factors=8, seed=1)
    past_only = replace(market, promotions=market.promotions[market.promotions["started_at"] < CUTOFF])
    again = build_feature_tables(past_only, CUTOFF, cf_factors=8, seed=1)
    np.testing.assert_array_equal(full.creator, again.creator)
    np.testing.assert_array_equal(full.product, again.product)
    for name, array in full.arrays.items():
        np.testing.assert_array_equal(array, again.arrays[name], err_msg=name)


def test_vectors_are_float32_with_one_name_per_column_and_extras_pass_through(market) -> None:  # type: ignore[no-untyped-def]
    tables = build_feature_tables(market, CUTOFF, cf_factors=8)
    x = tables.vectors(np.array([0, 1, 2]), np.array([5, 6, 7]))
    assert x.dtype == np.float32 and x.shape == (3, len(tables.feature_names))
    assert set(FEATURE_NAMES) <= set(tables.feature_names)
    assert {"c_x_fans_growth_30d", "p_x_shipping_days", "c_x_content_embedding_0", "p_x_title_embedding_7"} <= set(
        tables.feature_names
    )
    assert "x_emb_content_embedding__title_embedding" in tables.feature_names
    column = tables.feature_names.index("c_x_fans_growth_30d")
    assert x[0, column] == pytest.approx(market.creators["fans_growth_30d"].iloc[0], rel=1e-5)


def test_audience_overlap_is_the_mean_over_share_groups_of_summed_minima() -> None:
    aud = np.array([[0.6, 0.4, 0.2, 0.2, 0.2, 0.2, 0.2, 0.25, 0.25, 0.25, 0.25]], dtype=np.float32)
    tgt = np.array([[1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.25, 0.25, 0.25, 0.25]], dtype=np.float32)
    arrays = {
        "creator_audience": aud,
        "product_target": tgt,
        "product_category": np.array([0]),
        "creator_category_listed": np.zeros((1, 1)),
        "creator_category_gmv_share": np.zeros((1, 1)),
        "creator_category_promotions": np.zeros((1, 1)),
        "creator_category_conversion": np.zeros((1, 1)),
        "product_log_price": np.zeros(1),
        "creator_usual_log_price": np.zeros(1),
        "creator_log_followers": np.zeros(1),
        "product_typical_promoter": np.zeros(1),
        "creator_region": np.zeros(1),
        "product_region": np.zeros(1),
        "cf_creator": np.zeros((1, 2)),
        "cf_product": np.zeros((1, 2)),
        "cf_creator_known": np.zeros(1, bool),
        "cf_product_known": np.zeros(1, bool),
        "product_best_rate": np.array([0.2]),
        "category_median_rate": np.array([0.1]),
        "pair_keys": np.empty(0, np.int64),
        "pair_counts": np.empty(0),
        "pair_gmv": np.empty(0),
        "creator_main_format": np.zeros(1, np.int8),
    }
    from features.names import PAIR_FEATURES

    out = pair_features(arrays, PAIR_FEATURES, np.array([0]), np.array([0]))[0]
    named = dict(zip(PAIR_FEATURES, out, strict=True))
    assert named["x_overlap_gender"] == pytest.approx(0.6)
    assert named["x_overlap_age"] == pytest.approx(0.2)
    assert named["x_overlap_city_tier"] == pytest.approx(1.0)
    assert named["x_overlap"] == pytest.approx((0.6 + 0.2 + 1.0) / 3)
    assert named["x_commission_vs_category"] == pytest.approx(2.0)


def test_cold_start_entities_still_get_collaborative_vectors(market) -> None:  # type: ignore[no-untyped-def]
    tables = build_feature_tables(market, CUTOFF, cf_factors=8)
    cold = ~tables.arrays["cf_product_known"]
    assert cold.any() and (~cold).any()
    assert np.abs(tables.arrays["cf_product"][cold]).sum(axis=1).min() > 0  # content-mapped, not zeros
    has_history = tables.product[:, tables.product_names.index("p_has_history")]
    assert (has_history[cold] == 0).all()


def test_tables_roundtrip_through_files(tmp_path, market) -> None:  # type: ignore[no-untyped-def]
    tables = build_feature_tables(market, CUTOFF, cf_factors=8)
    tables.save(tmp_path)
    loaded = FeatureTables.load(tmp_path)
    rows = np.arange(20)
    np.testing.assert_array_equal(tables.vectors(rows, rows), loaded.vectors(rows, rows))
    assert loaded.feature_names == tables.feature_names and loaded.extras == tables.extras
