"""Feature tables on a synthetic marketplace: point in time, float32 vectors with one list of names, extras passing
through, cold start, files."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from features import FEATURE_NAMES, build_feature_tables
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


def test_tables_are_written_row_major_and_an_older_column_major_bundle_still_serves(tmp_path, market) -> None:  # type: ignore[no-untyped-def]
    tables = build_feature_tables(market, CUTOFF, cf_factors=8)
    two_d = {"creator": tables.creator, "product": tables.product}
    two_d.update({name: a for name, a in tables.arrays.items() if a.ndim == 2})
    assert {"creator_audience", "product_target", "cf_product"} <= set(two_d)
    assert [name for name, a in two_d.items() if not a.flags["C_CONTIGUOUS"]] == []
    column = tables.product[:, tables.product_names.index("p_refund_rate_90d")]
    np.testing.assert_array_equal(tables.arrays["product_refund_rate_90d"], column)
    tables.save(tmp_path / "now")
    mapped = FeatureTables.load(tmp_path / "now", mmap=True)
    assert mapped.product.flags["C_CONTIGUOUS"] and mapped.arrays["product_target"].flags["C_CONTIGUOUS"]
    # a bundle written column-major (before the tables were saved row-major) loads and gives the same vectors
    old = tmp_path / "old"
    tables.save(old)
    for name in ("product.npy", "creator.npy", "a_product_target.npy", "a_creator_audience.npy"):
        np.save(old / name, np.asfortranarray(np.load(old / name)))
    rows = np.arange(30)
    for mmap in (True, False):
        loaded = FeatureTables.load(old, mmap=mmap)
        assert loaded.product.flags["C_CONTIGUOUS"] is not mmap  # mapped: as written; in memory: row-major
        np.testing.assert_array_equal(loaded.vectors(rows, rows[::-1]), tables.vectors(rows, rows[::-1]))


def test_a_promotion_from_the_day_before_the_cutoff_counts_and_one_after_it_does_not(market) -> None:  # type: ignore[no-untyped-def]
    before = build_feature_tables(market, CUTOFF, cf_factors=8, seed=1)
    creator = before.creators.id(0)
    column = before.creator_names.index("c_log_gmv_7d")
    gmv_7d = float(np.expm1(np.float64(before.creator[0, column])))
    template = market.promotions.iloc[[0, 0]].copy()
    template["creator_id"] = creator
    template["started_at"] = [CUTOFF - pd.Timedelta(days=1), CUTOFF + pd.Timedelta(hours=1)]
    template["gmv"] = [1_234.0, 99_999.0]
    if "promotion_id" in template:
        template["promotion_id"] = ["extra-day-before", "extra-after-cutoff"]
    more = replace(market, promotions=pd.concat([market.promotions, template], ignore_index=True))
    after = build_feature_tables(more, CUTOFF, cf_factors=8, seed=1)
    # the day-before promotion adds its ¥1,234 to the creator's 7-day GMV; the later one adds nothing
    assert np.expm1(np.float64(after.creator[0, column])) == pytest.approx(gmv_7d + 1_234, rel=1e-5)
    promotions_7d = before.creator_names.index("c_promotions_7d")
    assert after.creator[0, promotions_7d] == before.creator[0, promotions_7d] + 1


def test_the_cold_start_ridge_fit_on_a_sample_of_known_rows_is_the_one_the_overlay_refits(market, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Above ``FIT_ROWS`` known rows the ridge sees an evenly spaced sample of them (a large catalogue's float64 copy
    of every known row is GBs), predicted ``PREDICT_ROWS`` rows at a time; the service's overlay refits the same
    sample from the stored tables, so a cold product gets back the factors training gave it."""
    from features import collaborative
    from features.overlay import ColdStart

    full = build_feature_tables(market, CUTOFF, cf_factors=8)
    monkeypatch.setattr(collaborative, "FIT_ROWS", 30)
    monkeypatch.setattr(collaborative, "PREDICT_ROWS", 37)  # 400 products: 11 blocks, the last one short
    tables = build_feature_tables(market, CUTOFF, cf_factors=8)
    known = tables.arrays["cf_product_known"]
    assert known.sum() > 30 and (~known).any()
    cold = ~known
    np.testing.assert_array_equal(tables.arrays["cf_product"][known], full.arrays["cf_product"][known])  # same SVD
    assert not np.allclose(tables.arrays["cf_product"][cold], full.arrays["cf_product"][cold], atol=1e-4)  # sampled
    refit = ColdStart.fit(tables).product_factors(tables)
    np.testing.assert_allclose(refit[cold], tables.arrays["cf_product"][cold], atol=1e-5)
