"""Capacities of the synthetic world: plain int columns by fan tier and price, drawn without disturbing the rest."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from scipy.stats import spearmanr

from recsys.core.schema import PROMOTION_FORMATS
from recsys.core.synth import SynthConfig, Synthetic, generate
from recsys.core.synth.capacity import STOCK_MAX, STOCK_MIN, TIER_CAPACITY
from recsys.core.vocab import FanTier, PromotionFormat

# Without fake engagement (which changes its fake creators' rows: tests/core/synth/test_fake_engagement.py).
SMALL = SynthConfig(creators=60, products=200, promotions=800, seed=11, fake_engagement_share=0.0)

# sha256 (first 16 hex) of each table as CSV, written by the generator of commit 8242c38 — before the capacity
# columns existed. Dropping the two new columns must give exactly these tables again. (A deliberate change of the
# generator changes them; recompute them with _digests.)
BEFORE_CAPACITIES = {
    "merchants": "d1a99633e7b99da5",
    "products": "6e09075bfe3180c3",
    "creators": "1e94c3ce0aac869c",
    "plans": "8ed07d2964159e06",
    "promotions": "37f1d518e4730fad",
    "orders": "08f0b4283066443f",
}


def _digests(synthetic: Synthetic) -> dict[str, str]:
    out = {}
    for name in BEFORE_CAPACITIES:
        frame = synthetic.market.table(name).drop(columns=["weekly_capacity", "sample_stock"], errors="ignore")
        out[name] = hashlib.sha256(frame.to_csv(index=False).encode()).hexdigest()[:16]
    return out


@pytest.fixture(scope="module")
def world() -> Synthetic:
    return generate(SynthConfig(creators=400, products=1500, promotions=4000, seed=3, with_orders=False))


def test_the_rest_of_the_world_is_what_it_was_before_capacities() -> None:
    synthetic = generate(SMALL)
    assert "weekly_capacity" in synthetic.market.creators and "sample_stock" in synthetic.market.products
    assert _digests(synthetic) == BEFORE_CAPACITIES


def test_capacities_follow_the_seed() -> None:
    a, b = generate(SMALL), generate(SMALL.model_copy(update={"seed": 12}))
    again = generate(SMALL)
    assert (a.market.creators["weekly_capacity"] == again.market.creators["weekly_capacity"]).all()
    assert (a.market.products["sample_stock"] == again.market.products["sample_stock"]).all()
    assert not (a.market.products["sample_stock"].to_numpy() == b.market.products["sample_stock"].to_numpy()).all()


def test_weekly_capacity_is_a_positive_int_in_its_tier_range_plus_one_for_live_streamers(world: Synthetic) -> None:
    creators = world.market.creators
    capacity = creators["weekly_capacity"].to_numpy()
    assert capacity.dtype == np.int64 and (capacity >= 1).all()
    fake = world.truth.fake_engagement
    assert fake is not None and fake.bought_followers.any()
    tier = FanTier.codes(fake.real_followers)  # capacity follows the real fan tier, not bought followers
    live = np.argmax(world.truth.format_weights, axis=1) == PROMOTION_FORMATS.index(PromotionFormat.LIVE)
    assert live.any() and (~live).any()
    base = capacity - live.astype(np.int64)
    means = []
    for t in FanTier:
        here = tier == t.code
        if not here.any():
            continue
        low, high = TIER_CAPACITY[t]
        assert base[here].min() >= low and base[here].max() <= high, t
        means.append(base[here].mean())
    assert len(means) >= 4 and np.all(np.diff(means) > 0)  # bigger tiers take more


def test_sample_stock_is_a_bounded_positive_int_higher_for_cheap_products(world: Synthetic) -> None:
    products = world.market.products
    stock = products["sample_stock"].to_numpy()
    assert stock.dtype == np.int64 and stock.min() >= STOCK_MIN and stock.max() <= STOCK_MAX
    assert len(np.unique(stock)) > 10
    rho = spearmanr(products["price"].to_numpy(), stock).statistic
    assert rho < -0.3
