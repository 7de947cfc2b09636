"""Evidence arrays: the exact figures a recommendation's reasons quote, kept beside the feature tables.

Features are transformed for the models (log followers, log GMV, log price, filled target shares); a reason that
quoted a number recovered by inverting such a transform would print 29,999,978 followers for 30,000,000. These
arrays keep the stored values themselves (counts as integers, money in float64) and the few figures computed from
them (GMV per 1,000 views, price quartiles, places among all creators or products), point-in-time like every
feature. They are not model inputs: adding one never changes a feature vector.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.history import History
from recsys.core.schema import audience_columns
from recsys.core.vocab import FanTier, sorted_unique

N_FAN_TIERS = len(FanTier)
CATEGORY_DAYS = 90  # the window of the creator's category history and of the product's sales by fan tier
SALES_DAYS = 30  # the window of the "recent sales" figures
MIN_PRICED_PROMOTIONS = 3  # promotions a creator needs before its usual price range means something


def top_share(values: np.ndarray) -> np.ndarray:
    """Per value: the share of all values at least as high (1/n for the highest, 1.0 for the lowest); NaN stays
    NaN and does not count. ``top_share <= 0.1`` reads "in the top 10%"."""
    values = np.asarray(values, dtype=np.float64)
    known = np.isfinite(values)
    ordered = np.sort(values[known])
    at_least = len(ordered) - np.searchsorted(ordered, values, side="left")
    return np.where(known, at_least / max(len(ordered), 1), np.nan).astype(np.float32)


def _recent_totals(history: History, side: str, days: int) -> tuple[np.ndarray, np.ndarray]:
    """(GMV float64, orders int64) per creator or product over the last ``days``."""
    codes, n = history.side(side)
    recent = history.age_days <= days
    gmv = np.bincount(codes[recent], weights=history.outcomes["gmv"][recent], minlength=n)
    orders = np.bincount(codes[recent], weights=history.outcomes["orders"][recent], minlength=n)
    return gmv, np.rint(orders).astype(np.int64)


def creator_category_evidence(
    history: History, product_category: np.ndarray, n_categories: int, days: int = CATEGORY_DAYS
) -> dict[str, np.ndarray]:
    """Per creator and category over the last ``days``: promotions (int32) and GMV per 1,000 views (float32, NaN
    without views); each (n_c, K)."""
    recent = history.age_days <= days
    cell = history.c[recent] * n_categories + product_category[history.p[recent]]
    shape = (history.n_creators, n_categories)
    size = shape[0] * shape[1]
    count = np.bincount(cell, minlength=size).reshape(shape)
    gmv = np.bincount(cell, weights=history.outcomes["gmv"][recent], minlength=size).reshape(shape)
    views = np.bincount(cell, weights=history.outcomes["views"][recent], minlength=size).reshape(shape)
    gpm = np.divide(1000 * gmv, views, out=np.full(shape, np.nan), where=views > 0)
    return {"creator_category_promotion_count": count.astype(np.int32), "creator_category_gpm": gpm.astype(np.float32)}


def creator_price_range(history: History, price: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per creator: the 25th and 75th percentile of the prices of the products it promoted (one value per
    promotion; NaN with fewer than :data:`MIN_PRICED_PROMOTIONS`)."""
    low = np.full(history.n_creators, np.nan)
    high = np.full(history.n_creators, np.nan)
    counts = np.bincount(history.c, minlength=history.n_creators)
    enough = counts[history.c] >= MIN_PRICED_PROMOTIONS
    if enough.any():
        grouped = pd.Series(price[history.p[enough]]).groupby(history.c[enough])
        for out, q in ((low, 0.25), (high, 0.75)):
            quantile = grouped.quantile(q)
            out[quantile.index.to_numpy(np.int64)] = quantile.to_numpy()
    return low, high


def product_sales_by_fan_tier(
    history: History, creator_tier: np.ndarray, days: int = CATEGORY_DAYS
) -> tuple[np.ndarray, np.ndarray]:
    """Per product and fan tier over the last ``days``: distinct creators who promoted it (int32) and their GMV
    (float64); each (n_p, number of fan tiers)."""
    recent = history.age_days <= days
    c, p = history.c[recent], history.p[recent]
    shape = (history.n_products, N_FAN_TIERS)
    pairs = sorted_unique(p * history.n_creators + c)
    pair_p, pair_c = pairs // history.n_creators, pairs % history.n_creators
    creators = np.bincount(pair_p * N_FAN_TIERS + creator_tier[pair_c], minlength=shape[0] * shape[1])
    gmv = np.bincount(
        p * N_FAN_TIERS + creator_tier[c], weights=history.outcomes["gmv"][recent], minlength=shape[0] * shape[1]
    )
    # float64 even without promotions (where numpy's weighted bincount returns int64)
    return creators.reshape(shape).astype(np.int32), gmv.reshape(shape).astype(np.float64, copy=False)


def evidence_arrays(
    creators: pd.DataFrame,
    products: pd.DataFrame,
    merchants: pd.DataFrame,
    history: History,
    product_category: np.ndarray,
    n_categories: int,
    regions: list[str],
) -> dict[str, np.ndarray]:
    """The evidence arrays of one cutoff, row-aligned with the feature tables' creators and products."""
    followers = creators["followers"].to_numpy(np.int64)
    price = products["price"].to_numpy(np.float64)
    completion = creators["completion_rate"].to_numpy(np.float64)
    shop = merchants.set_index("merchant_id").reindex(products["merchant_id"])
    c_gmv, c_orders = _recent_totals(history, "c", SALES_DAYS)
    p_gmv, p_orders = _recent_totals(history, "p", SALES_DAYS)
    low, high = creator_price_range(history, price)
    tier_creators, tier_gmv = product_sales_by_fan_tier(history, FanTier.codes(followers).astype(np.int64))
    return {
        "creator_followers": followers,
        "creator_avg_views": creators["avg_views"].to_numpy(np.float64),
        "creator_completion_rate": completion,
        "creator_completion_top_share": top_share(completion),
        "creator_gmv_30d": c_gmv,
        "creator_orders_30d": c_orders,
        "creator_price_p25": low,
        "creator_price_p75": high,
        **creator_category_evidence(history, product_category, n_categories),
        "product_price": price,
        "product_has_target": products[audience_columns("target")].notna().all(axis=1).to_numpy(bool),
        "product_rating": products["rating"].to_numpy(np.float64),
        "product_shop_good_review_rate": shop["good_review_rate"].to_numpy(np.float64),
        "product_gmv_30d": p_gmv,
        "product_orders_30d": p_orders,
        "product_gmv_30d_top_share": top_share(p_gmv),
        "product_tier_creators_90d": tier_creators,
        "product_tier_gmv_90d": tier_gmv,
        "region_names": np.asarray(regions, dtype=np.str_),
    }
