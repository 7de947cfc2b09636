"""The synthetic marketplace: reproducible, realistic in the ways later parts rely on, valid, with a usable truth."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from recsys.core.config import Settings
from recsys.core.datasets.importer import read_dataset
from recsys.core.schema import FAN_TIERS, PLAN_TYPES
from recsys.core.synth import GroundTruth, SynthConfig, Synthetic, generate, write_synthetic

CONFIG = SynthConfig(creators=400, products=1500, promotions=12_000, seed=3)


@pytest.fixture(scope="module")
def synthetic() -> Synthetic:
    return generate(CONFIG)


def _digest(directory: Path) -> dict[str, str]:
    return {
        str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_same_seed_gives_same_bytes_and_another_seed_does_not(tmp_path: Path, fmt: str) -> None:
    small = SynthConfig(creators=60, products=200, promotions=800, seed=11)
    write_synthetic(generate(small), tmp_path / "a", fmt)  # type: ignore[arg-type]
    write_synthetic(generate(small), tmp_path / "b", fmt)  # type: ignore[arg-type]
    write_synthetic(generate(small.model_copy(update={"seed": 12})), tmp_path / "c", fmt)  # type: ignore[arg-type]
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert _digest(tmp_path / "a")[f"promotions.{fmt}"] != _digest(tmp_path / "c")[f"promotions.{fmt}"]


def test_generated_directory_validates_with_nothing_quarantined(tmp_path: Path, synthetic: Synthetic) -> None:
    write_synthetic(synthetic, tmp_path)
    market, result = read_dataset(tmp_path, Settings())
    assert {name: len(frame) for name, frame in result.quarantined.items() if len(frame)} == {}
    assert market.sizes() == synthetic.market.sizes()


def test_marketplace_has_the_variety_later_parts_rely_on(synthetic: Synthetic) -> None:
    m = synthetic.market
    followers = m.creators["followers"].to_numpy()
    tiers = np.searchsorted([lower for _, lower in FAN_TIERS], followers, side="right")
    assert len(np.unique(tiers)) >= 4  # power law spans nano .. macro even at this size
    assert m.products["category"].nunique() >= 12
    assert set(m.plans["plan_type"]) == set(PLAN_TYPES)
    open_rates = m.plans.loc[m.plans["plan_type"] == "open", "commission_rate"]
    assert open_rates.between(0.05, 0.30).all()
    merchants = m.merchants
    age = (pd.Timestamp(CONFIG.as_of) - merchants["joined_at"]).dt.days
    assert (age < 60).any() and (merchants["experience_score"] < 70).any()
    assert (~m.creators["showcase_enabled"]).any() and (~m.creators["deposit_paid"]).any()
    assert (m.promotions["refunds"] > 0).any() and (m.orders["status"] == "refunded").any()
    assert m.products[[c for c in m.products if c.startswith("target_")]].isna().all(axis=1).any()  # optional targets
    assert {"content_embedding", "fans_growth_30d"} <= set(m.creators.columns)  # extra columns flow through
    assert {"title_embedding", "shipping_days"} <= set(m.products.columns)


def test_promotions_are_consistent_with_plans_and_listing_dates(synthetic: Synthetic) -> None:
    m = synthetic.market
    promo = m.promotions.merge(m.plans[["plan_id", "product_id", "plan_type", "creator_ids"]], on="plan_id")
    assert (promo["product_id_x"] == promo["product_id_y"]).all()
    listed = promo[promo["plan_type"].isin(["exclusive", "targeted"])]
    assert len(listed) > 0
    assert all(c in ids for c, ids in zip(listed["creator_id"], listed["creator_ids"], strict=True))
    listed_at = m.products.set_index("product_id").loc[m.promotions["product_id"], "listed_at"].to_numpy()
    assert (m.promotions["started_at"].to_numpy() >= listed_at).all()
    orders_per_promotion = m.orders.groupby("promotion_id").size()
    counted = m.promotions.set_index("promotion_id")["orders"]
    assert (orders_per_promotion.reindex(counted.index, fill_value=0) == counted).all()


def test_exposure_is_biased_toward_popular_products(synthetic: Synthetic) -> None:
    counts = synthetic.market.promotions["product_id"].value_counts()
    top_decile = counts.iloc[: max(1, len(synthetic.market.products) // 10)].sum()
    assert top_decile / counts.sum() > 0.3


def test_truth_explains_outcomes_and_is_not_just_popularity(synthetic: Synthetic) -> None:
    m, truth = synthetic.market, synthetic.truth
    c = pd.Index(truth.creator_ids).get_indexer(m.promotions["creator_id"])
    p = pd.Index(truth.product_ids).get_indexer(m.promotions["product_id"])
    rate = m.plans.set_index("plan_id").loc[m.promotions["plan_id"], "commission_rate"].to_numpy()
    fmt = m.promotions["format"].map({"video": 0, "live": 1, "post": 2}).to_numpy()
    expected = truth.expected_gmv(c, p, rate=rate, fmt=fmt)
    assert spearmanr(expected, m.promotions["gmv"]).statistic > 0.5
    # Within one creator, the pair terms matter: the truth ranks a creator's products differently from the
    # products' average outcome over all creators (what popularity can know).
    n_p = len(truth.product_ids)
    rng = np.random.default_rng(0)
    sample = rng.choice(len(truth.creator_ids), 60, replace=False)
    per_product = np.mean([truth.expected_gmv(np.full(n_p, c), np.arange(n_p)) for c in sample], axis=0)
    disagreements = []
    for creator in sample[:30]:
        own = truth.expected_gmv(np.full(n_p, creator), np.arange(n_p))
        disagreements.append(spearmanr(own, per_product).statistic)
    assert np.median(disagreements) < 0.9


def test_ground_truth_roundtrips_through_the_dataset_directory(tmp_path: Path, synthetic: Synthetic) -> None:
    write_synthetic(synthetic, tmp_path)
    loaded = GroundTruth.load(tmp_path)
    ids_c = synthetic.market.promotions["creator_id"].to_numpy()[:50]
    ids_p = synthetic.market.promotions["product_id"].to_numpy()[:50]
    np.testing.assert_allclose(
        loaded.expected_gmv_by_id(ids_c, ids_p), synthetic.truth.expected_gmv_by_id(ids_c, ids_p), rtol=1e-12
    )
    with pytest.raises(KeyError):
        loaded.expected_gmv_by_id(["nobody"], ids_p[:1])


def test_config_rejects_impossible_sizes() -> None:
    with pytest.raises(ValueError, match="merchants"):
        SynthConfig(creators=10, products=10, merchants=20)


def test_orders_drawn_in_blocks_are_the_orders_drawn_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The orders of a large marketplace are drawn in blocks (memory); block by block gives every value of one draw,
    with or without the orders table, and each promotion's refund count is its refunded orders."""
    small = SynthConfig(creators=60, products=200, promotions=800, seed=11)
    whole = generate(small).market
    monkeypatch.setattr("recsys.core.synth.activity.ORDER_BLOCK", 97)
    blocks = generate(small).market
    no_orders = generate(small.model_copy(update={"with_orders": False})).market
    assert len(whole.orders) > 10 * 97  # many blocks
    for name in ("promotions", "orders", "plans", "creators", "products", "sample_requests"):
        pd.testing.assert_frame_equal(getattr(blocks, name), getattr(whole, name))
    for name in ("promotions", "plans", "creators", "products", "sample_requests"):
        pd.testing.assert_frame_equal(getattr(no_orders, name), getattr(whole, name))
    assert no_orders.orders.empty
    refunded = whole.orders[whole.orders["status"] == "refunded"].groupby("promotion_id").size()
    counts = whole.promotions.set_index("promotion_id")["refunds"]
    assert refunded.sum() > 0
    pd.testing.assert_series_equal(counts[counts > 0].sort_index(), refunded.sort_index(), check_names=False)
