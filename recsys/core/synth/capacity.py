"""Capacities of the synthetic marketplace: how many new collaborations a creator takes a week, how many samples a
product has left.

Two plain integer columns, read by the matcher as capacities (``recsys.core.schema.CAPACITY_COLUMNS``), never as
model features:

- ``creators.weekly_capacity`` — new collaborations a creator can start in a week, by fan tier (uniform integer in
  the tier's range) plus one for creators whose main format is live streaming (a live session carries several
  products):

  ========  ==========  ===============
  tier      followers   weekly capacity
  ========  ==========  ===============
  nano      < 5k        1–2
  micro     5k–20k      2–3
  mid       20k–100k    3–4
  macro     100k–1M     4–6
  mega      ≥ 1M        6–10
  ========  ==========  ===============

  (live streamers: one more). The defaults of ``settings.matching.capacity_*`` sit inside these ranges.
- ``products.sample_stock`` — samples the merchant can still send: ``10 · (100 / price)^0.4`` times log-normal
  noise (σ 0.4), rounded and clipped to 3–30, so cheap products have more samples (a 45-yuan snack ≈ 14, a
  120-yuan lipstick ≈ 9, a 700-yuan gadget ≈ 5).

Both are drawn from their own generator, ``default_rng([seed, 13])``, after everything else is generated: every
other value of the world is the same as without them, for the same seed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from recsys.core.schema import PROMOTION_FORMATS
from recsys.core.vocab import FanTier, PromotionFormat

CAPACITY_STREAM = 13  # the second word of the capacities' seed: default_rng([seed, CAPACITY_STREAM])

# Inclusive weekly-capacity range per fan tier (FanTier order: nano, micro, mid, macro, mega).
TIER_CAPACITY: dict[FanTier, tuple[int, int]] = {
    FanTier.NANO: (1, 2),
    FanTier.MICRO: (2, 3),
    FanTier.MID: (3, 4),
    FanTier.MACRO: (4, 6),
    FanTier.MEGA: (6, 10),
}
LIVE_EXTRA = 1  # live streamers take one more a week
STOCK_MIN, STOCK_MAX = 3, 30


def weekly_capacity(rng: np.random.Generator, followers: np.ndarray, main_format: np.ndarray) -> np.ndarray:
    """Weekly new-collaboration capacity per creator (int64 ≥ 1) from follower counts and main-format codes
    (index into ``PROMOTION_FORMATS``)."""
    tier = FanTier.codes(np.asarray(followers))
    bounds = np.array([TIER_CAPACITY[t] for t in FanTier], dtype=np.int64)
    low, high = bounds[tier, 0], bounds[tier, 1]
    capacity = low + (rng.random(len(tier)) * (high - low + 1)).astype(np.int64)
    live = np.asarray(main_format) == PROMOTION_FORMATS.index(PromotionFormat.LIVE)
    return np.asarray(capacity + LIVE_EXTRA * live, dtype=np.int64)


def sample_stock(rng: np.random.Generator, price: np.ndarray) -> np.ndarray:
    """Samples left per product (int64 in [STOCK_MIN, STOCK_MAX]); cheaper products have more."""
    price = np.asarray(price, dtype=np.float64)
    base = 10.0 * (100.0 / np.maximum(price, 1.0)) ** 0.4 * np.exp(rng.normal(0.0, 0.4, len(price)))
    return np.clip(np.round(base), STOCK_MIN, STOCK_MAX).astype(np.int64)


def add_capacities(
    seed: int, creators: pd.DataFrame, format_weights: np.ndarray, products: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``creators`` with ``weekly_capacity`` and ``products`` with ``sample_stock`` appended (new frames), drawn
    from ``default_rng([seed, CAPACITY_STREAM])``: creators first, then products."""
    rng = np.random.default_rng([seed, CAPACITY_STREAM])
    main_format = np.argmax(format_weights, axis=1)
    creators = creators.assign(weekly_capacity=weekly_capacity(rng, creators["followers"].to_numpy(), main_format))
    products = products.assign(sample_stock=sample_stock(rng, products["price"].to_numpy()))
    return creators, products


__all__ = ["TIER_CAPACITY", "add_capacities", "sample_stock", "weekly_capacity"]
