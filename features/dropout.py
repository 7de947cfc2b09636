"""History dropout: train models to judge creators and products that have no sales history yet.

A share of training rows gets the creator's or the product's history blanked to exactly what a brand-new creator or
product looks like (no promotions, no sales, unknown ratios, content-only collaborative factors), keeping the row's
real outcome. Without it a ranker only learns "history predicts history" and misjudges newcomers — e.g. a new
account with millions of followers (the DropoutNet idea, Volkovs et al., NeurIPS 2017).
"""

from __future__ import annotations

import numpy as np

from features.names import SAMPLE_FEATURES, window_names
from features.tables import FeatureTables

_ZERO_MARKERS = ("promotions", "log_gmv", "log_orders", "has_history", "n_creators", "samples_judged")
_CREATOR_PAIR_ZERO = ("x_category_gmv_share", "x_category_promotions", "x_prev_promotions", "x_prev_gmv", "x_cf_known")
_CREATOR_PAIR_NAN = ("x_category_conversion", "x_price_vs_usual")
_PRODUCT_PAIR_ZERO = ("x_prev_promotions", "x_prev_gmv", "x_cf_known")
_PRODUCT_PAIR_NAN = ("x_size_vs_typical_promoter",)


def _cold_values(
    names: list[str], history: list[str], zero_pairs: tuple[str, ...], nan_pairs: tuple[str, ...]
) -> dict[int, float]:
    index = {n: i for i, n in enumerate(names)}
    out: dict[int, float] = {}
    for n in history:
        if n in index:
            out[index[n]] = 0.0 if any(m in n for m in _ZERO_MARKERS) else np.nan
    out.update({index[n]: 0.0 for n in zero_pairs if n in index})
    out.update({index[n]: np.nan for n in nan_pairs if n in index})
    return out


def blank_history(
    X: np.ndarray,
    tables: FeatureTables,
    c_rows: np.ndarray,
    p_rows: np.ndarray,
    drop_creator: np.ndarray,
    drop_product: np.ndarray,
) -> np.ndarray:
    """A copy of ``X`` (rows aligned with ``c_rows``/``p_rows``) where the marked creators / products look new."""
    names = tables.feature_names
    out = X.copy()
    creator_cold = _cold_values(names, [*window_names("c"), *SAMPLE_FEATURES], _CREATOR_PAIR_ZERO, _CREATOR_PAIR_NAN)
    product_cold = _cold_values(names, [*window_names("p"), "p_n_creators_90d"], _PRODUCT_PAIR_ZERO, _PRODUCT_PAIR_NAN)
    for mask, cold in ((drop_creator, creator_cold), (drop_product, product_cold)):
        if mask.any():
            cols = np.fromiter(cold, dtype=np.int64)
            out[np.ix_(mask, cols)] = np.fromiter(cold.values(), dtype=np.float32)
    a = tables.arrays
    if "x_cf_score" in names and (drop_creator.any() or drop_product.any()):
        dropped = drop_creator | drop_product
        c, p = c_rows[dropped], p_rows[dropped]
        cf_c = np.where(drop_creator[dropped][:, None], a["cf_creator_cold"][c], a["cf_creator"][c])
        cf_p = np.where(drop_product[dropped][:, None], a["cf_product_cold"][p], a["cf_product"][p])
        out[dropped, names.index("x_cf_score")] = np.einsum("ij,ij->i", cf_c, cf_p)
    return out


def history_dropout(
    X: np.ndarray, tables: FeatureTables, c_rows: np.ndarray, p_rows: np.ndarray, rate: float, rng: np.random.Generator
) -> np.ndarray:
    """Blank the creator's history in a ``rate`` share of rows and, independently, the product's in another."""
    if rate <= 0 or len(X) == 0:
        return X
    return blank_history(X, tables, c_rows, p_rows, rng.random(len(X)) < rate, rng.random(len(X)) < rate)
