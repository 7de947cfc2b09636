"""Everything the feature tables read of the promotion history, as per-creator, per-product and per-pair arrays.

:func:`features.tables.build_feature_tables` never reads a promotion row itself: it reads a
:class:`HistoryAggregates`. In memory, :func:`history_aggregates` computes one from the whole history; on Dask
(``models.training.dask_history``) the same three pieces are computed where the promotions are:

- :func:`creator_side` and :func:`pair_side` read only a creator's own promotions, so they run unchanged on each
  creator-hash partition and the partitions' rows are simply put together;
- :func:`product_figures` reads only a product's own promotions, so it runs unchanged on each partition of the
  promotions shuffled by product, and the partitions' rows are put together (:meth:`ProductFigures.put`) before
  :func:`product_side`, which reads the whole catalogue's figures (the top share of 30-day GMV).

Both ways go through these functions, which is what keeps the two training paths' tables equal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.collaborative import interaction_values
from features.evidence import (
    SALES_DAYS,
    creator_category_evidence,
    creator_price_range,
    product_sales_by_fan_tier,
    top_share,
)
from features.history import (
    History,
    creator_category_history,
    distinct_partners,
    main_format,
    pair_history,
    typical_promoter_size,
    usual_price,
    window_features,
    window_sums,
)
from recsys.core.schema import PROMOTION_FORMATS
from recsys.core.vocab import FanTier

PARTNER_DAYS = 90  # the window of ``p_n_creators_90d``
# evidence arrays (features.evidence) computed from the history; the others come from the entity tables
EVIDENCE_FROM_HISTORY = (
    "creator_gmv_30d",
    "creator_orders_30d",
    "creator_price_p25",
    "creator_price_p75",
    "creator_category_promotion_count",
    "creator_category_gpm",
    "product_gmv_30d",
    "product_orders_30d",
    "product_gmv_30d_top_share",
    "product_tier_creators_90d",
    "product_tier_gmv_90d",
)
PAIR_ARRAYS = ("pair_keys", "pair_counts", "pair_gmv", "pair_orders")


def table_categories(creators: pd.DataFrame, products: pd.DataFrame) -> list[str]:
    """The category code list: every product category and every category a creator lists, sorted."""
    return sorted(set(products["category"]) | {c for cats in creators["categories"] for c in cats})


@dataclass(frozen=True)
class HistoryInputs:
    """The entity columns the history aggregates read, row-aligned with the tables' creators and products (small:
    Dask ships them to every worker)."""

    category_code: np.ndarray  # per product, int32 code into the categories
    n_categories: int
    price: np.ndarray  # per product, float64
    followers: np.ndarray  # per creator, int64

    @classmethod
    def of(cls, creators: pd.DataFrame, products: pd.DataFrame, categories: list[str]) -> HistoryInputs:
        code = pd.Categorical(products["category"], categories=categories).codes.astype(np.int32)
        price = products["price"].to_numpy(np.float64)
        return cls(code, len(categories), price, creators["followers"].to_numpy(np.int64))

    def creator_tier(self) -> np.ndarray:
        return FanTier.codes(self.followers).astype(np.int64)

    def log_followers(self) -> np.ndarray:
        return np.log1p(self.followers.astype(np.float64))


@dataclass
class HistoryAggregates:
    """The history at one cutoff as the tables read it (float64 where the tables cast to float32 themselves)."""

    creator_windows: pd.DataFrame  # features.history.window_features of the creators (n_c rows)
    product_windows: pd.DataFrame  # the products' window features and p_n_creators_90d (n_p rows)
    arrays: dict[str, np.ndarray]  # creator-, product- and pair-side arrays, named as in FeatureTables.arrays
    cf_entries: tuple[np.ndarray, np.ndarray, np.ndarray]  # (creator row, product row, value) of the CF matrix


def creator_side(history: History, inputs: HistoryInputs) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Window features and arrays of each creator of ``history`` (its rows: ``history.c``), from its own
    promotions only."""
    sums = window_sums(history.c, history.n_creators, history.age_days, history.outcomes)
    category = creator_category_history(history, inputs.category_code, inputs.n_categories)
    low, high = creator_price_range(history, inputs.price)
    arrays = {
        "creator_category_gmv_share": category["gmv_share"],
        "creator_category_promotions": category["log_promotions"],
        "creator_category_conversion": category["conversion"],
        "creator_usual_log_price": usual_price(history, np.log(inputs.price)),
        "creator_main_format": main_format(history, len(PROMOTION_FORMATS)),
        "creator_gmv_30d": sums[f"gmv_{SALES_DAYS}"],
        "creator_orders_30d": np.rint(sums[f"orders_{SALES_DAYS}"]).astype(np.int64),
        "creator_price_p25": low,
        "creator_price_p75": high,
        **creator_category_evidence(history, inputs.category_code, inputs.n_categories),
    }
    return window_features(sums, "c"), arrays


def pair_side(history: History) -> tuple[dict[str, np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Earlier collaborations (:func:`features.history.pair_history`) and the CF matrix entries, one per pair."""
    keys, counts, gmv, orders = pair_history(history)
    _, inverse = np.unique(history.c * history.n_products + history.p, return_inverse=True)
    values = np.bincount(inverse, weights=interaction_values(history), minlength=len(keys))
    rows, cols = np.divmod(keys, max(history.n_products, 1))
    pairs = {"pair_keys": keys, "pair_counts": counts, "pair_gmv": gmv, "pair_orders": orders}
    return pairs, (rows, cols, values)


@dataclass
class ProductFigures:
    """What :func:`product_side` reads of the history, per product: :func:`features.history.window_sums`, the
    distinct creators over the last 90 days, the distinct creators and GMV per fan tier over 90 days and the median
    log followers of the product's promoters (NaN without one)."""

    sums: dict[str, np.ndarray]
    partners: np.ndarray
    tier: tuple[np.ndarray, np.ndarray]
    typical: np.ndarray

    def put(self, rows: np.ndarray, part: ProductFigures) -> None:
        """Write ``part`` (the figures of ``len(rows)`` products) at ``rows``."""
        for name, values in part.sums.items():
            self.sums[name][rows] = values
        self.partners[rows] = part.partners
        self.tier[0][rows] = part.tier[0]
        self.tier[1][rows] = part.tier[1]
        self.typical[rows] = part.typical


def product_figures(history: History, inputs: HistoryInputs) -> ProductFigures:
    """The figures of every product of ``history`` (its rows: ``history.p``; ``history.c`` are the tables' creator
    rows), from its own promotions only."""
    sums = window_sums(history.p, history.n_products, history.age_days, history.outcomes)
    tier = product_sales_by_fan_tier(history, inputs.creator_tier())
    typical = typical_promoter_size(history, inputs.log_followers())
    return ProductFigures(sums, distinct_partners(history, PARTNER_DAYS), tier, typical)


def product_side(figures: ProductFigures) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Window features and arrays of every product of the catalogue from its :class:`ProductFigures`."""
    sums = figures.sums
    windows = window_features(sums, "p")
    windows["p_n_creators_90d"] = np.asarray(figures.partners, dtype=np.float64)
    gmv = sums[f"gmv_{SALES_DAYS}"]
    arrays = {
        "product_typical_promoter": figures.typical,
        "product_gmv_30d": gmv,
        "product_orders_30d": np.rint(sums[f"orders_{SALES_DAYS}"]).astype(np.int64),
        "product_gmv_30d_top_share": top_share(gmv),
        "product_tier_creators_90d": figures.tier[0],
        "product_tier_gmv_90d": figures.tier[1],
    }
    return windows, arrays


def history_aggregates(history: History, inputs: HistoryInputs) -> HistoryAggregates:
    """The aggregates of a whole history in memory (the in-memory training path and the service's overlay)."""
    c_windows, c_arrays = creator_side(history, inputs)
    p_windows, p_arrays = product_side(product_figures(history, inputs))
    pairs = dict(zip(PAIR_ARRAYS, pair_history(history), strict=True))
    cf = (history.c, history.p, interaction_values(history))  # one entry per promotion, as factorize has always read
    return HistoryAggregates(c_windows, p_windows, {**c_arrays, **p_arrays, **pairs}, cf)
