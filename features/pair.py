"""Pair features of (creator, product): audience fit, category history, price fit, collaborative and commission.

Vectorised over aligned arrays of creator rows and product rows, gathering from the arrays of
:class:`features.tables.FeatureTables`; runs on the request path, so it uses numpy only.
"""

from __future__ import annotations

import numpy as np

from features.names import PAIR_FEATURES
from recsys.core.pair_keys import PairKeys
from recsys.core.vocab import find_sorted, take_rows


def _prev(
    arrays: dict[str, np.ndarray], c: np.ndarray, p: np.ndarray, lookup: PairKeys | None
) -> tuple[np.ndarray, np.ndarray]:
    keys = arrays["pair_keys"]
    if lookup is not None:
        pos, hit = lookup.find(c, p)
    else:
        pos, hit = find_sorted(keys, c * len(arrays["product_category"]) + p)
    counts = np.where(hit, arrays["pair_counts"][pos] if len(keys) else 0, 0)
    gmv = np.where(hit, arrays["pair_gmv"][pos] if len(keys) else 0, 0)
    return np.log1p(counts), np.log1p(gmv)


def pair_features(
    arrays: dict[str, np.ndarray],
    pair_names: list[str],
    c: np.ndarray,
    p: np.ndarray,
    rate: np.ndarray | None = None,
    fmt: np.ndarray | None = None,
    lookup: PairKeys | None = None,
) -> np.ndarray:
    """(n, len(pair_names)) float32. ``rate``: the commission rate each creator would get (default: the product's
    best public rate); ``fmt``: the promotion format code (default: the creator's usual format); ``lookup``: the
    pair keys' fast lookup (``FeatureTables.pair_lookup``; default: a plain search of ``arrays["pair_keys"]``)."""
    c = np.asarray(c, dtype=np.int64)
    p = np.asarray(p, dtype=np.int64)
    out = np.empty((len(c), len(pair_names)), dtype=np.float32)
    aud = take_rows(arrays["creator_audience"], c)
    tgt = take_rows(arrays["product_target"], p)
    m = np.minimum(aud, tgt)
    gender, age, tier = m[:, :2].sum(axis=1), m[:, 2:7].sum(axis=1), m[:, 7:11].sum(axis=1)
    k = arrays["product_category"][p]
    if rate is None:
        rate = arrays["product_best_rate"][p]
    cat_rate = arrays["category_median_rate"][k]
    prev_n, prev_gmv = _prev(arrays, c, p, lookup)
    cf = np.einsum("ij,ij->i", take_rows(arrays["cf_creator"], c), take_rows(arrays["cf_product"], p))
    columns = {
        "x_overlap": (gender + age + tier) / 3.0,
        "x_overlap_gender": gender,
        "x_overlap_age": age,
        "x_overlap_city_tier": tier,
        "x_category_listed": arrays["creator_category_listed"][c, k],
        "x_category_gmv_share": arrays["creator_category_gmv_share"][c, k],
        "x_category_promotions": arrays["creator_category_promotions"][c, k],
        "x_category_conversion": arrays["creator_category_conversion"][c, k],
        "x_price_vs_usual": arrays["product_log_price"][p] - arrays["creator_usual_log_price"][c],
        "x_size_vs_typical_promoter": arrays["creator_log_followers"][c] - arrays["product_typical_promoter"][p],
        "x_same_region": (arrays["creator_region"][c] == arrays["product_region"][p]).astype(np.float32),
        "x_cf_score": cf,
        "x_cf_known": (arrays["cf_creator_known"][c] & arrays["cf_product_known"][p]).astype(np.float32),
        "x_commission_rate": rate,
        "x_commission_vs_category": np.divide(
            rate, cat_rate, out=np.full(len(c), np.nan, dtype=np.float64), where=cat_rate > 0
        ),
        "x_prev_promotions": prev_n,
        "x_prev_gmv": prev_gmv,
        "x_format": arrays["creator_main_format"][c] if fmt is None else fmt,
    }
    for j, name in enumerate(PAIR_FEATURES):
        out[:, j] = columns[name]
    for j, name in enumerate(pair_names[len(PAIR_FEATURES) :], start=len(PAIR_FEATURES)):
        c_name, p_name = name.removeprefix("x_emb_").split("__")
        c_emb, p_emb = take_rows(arrays[f"cemb_{c_name}"], c), take_rows(arrays[f"pemb_{p_name}"], p)
        out[:, j] = np.einsum("ij,ij->i", c_emb, p_emb)
    return out
