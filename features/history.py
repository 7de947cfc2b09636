"""Point-in-time sales and engagement history: aggregates of promotions started before a cutoff.

A promotion counts with the totals recorded for it (views, clicks, orders, GMV, refunds) once it started before the
cutoff; nothing that started at or after the cutoff is ever read. All functions are pure over DataFrames.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

WINDOWS: tuple[int, ...] = (7, 30, 90)
OUTCOME_COLUMNS = ("views", "likes", "comments", "shares", "clicks", "orders", "gmv", "refunds")


def before(promotions: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    """Promotions that started strictly before ``cutoff``."""
    return promotions[promotions["started_at"] < cutoff]


def _ratio(num: ArrayLike, den: ArrayLike) -> np.ndarray:
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    return np.divide(num, den, out=np.full(num.shape, np.nan), where=den > 0)


def window_aggregates(
    history: pd.DataFrame, key: str, index: pd.Index, cutoff: pd.Timestamp, prefix: str
) -> pd.DataFrame:
    """Per-``key`` sales history over the last 7/30/90 days and all time, aligned with ``index``.

    Columns (``{prefix}_...``): promotions, log GMV, log orders, conversion (orders / clicks), GPM (GMV per 1,000
    views), refund rate (refunds / orders) per window; 30-day interaction rate ((likes+comments+shares) / views);
    all-time log GMV and promotions; days since the last promotion; whether any history exists.
    """
    out = pd.DataFrame(index=index)
    for days in WINDOWS:
        recent = history[history["started_at"] >= cutoff - pd.Timedelta(days=days)]
        agg = recent.groupby(key)[list(OUTCOME_COLUMNS)].sum().reindex(index, fill_value=0)
        count = recent.groupby(key).size().reindex(index, fill_value=0)
        out[f"{prefix}_promotions_{days}d"] = count.to_numpy(np.float64)
        out[f"{prefix}_log_gmv_{days}d"] = np.log1p(agg["gmv"].to_numpy(np.float64))
        out[f"{prefix}_log_orders_{days}d"] = np.log1p(agg["orders"].to_numpy(np.float64))
        out[f"{prefix}_conversion_{days}d"] = _ratio(agg["orders"], agg["clicks"])
        out[f"{prefix}_gpm_{days}d"] = 1000 * _ratio(agg["gmv"], agg["views"])
        out[f"{prefix}_refund_rate_{days}d"] = _ratio(agg["refunds"], agg["orders"])
        if days == 30:
            out[f"{prefix}_interaction_rate_30d"] = _ratio(agg["likes"] + agg["comments"] + agg["shares"], agg["views"])
    total = history.groupby(key).agg(gmv=("gmv", "sum"), n=("gmv", "size"), last=("started_at", "max"))
    total = total.reindex(index)
    out[f"{prefix}_log_gmv_all"] = np.log1p(total["gmv"].fillna(0).to_numpy(np.float64))
    out[f"{prefix}_promotions_all"] = total["n"].fillna(0).to_numpy(np.float64)
    out[f"{prefix}_days_since_last"] = ((cutoff - total["last"]).dt.total_seconds() / 86400).to_numpy(np.float64)
    out[f"{prefix}_has_history"] = total["n"].notna().to_numpy(np.float64)
    return out


def creator_category_history(
    history: pd.DataFrame,
    product_category: pd.Series,
    creator_index: pd.Index,
    categories: list[str],
    cutoff: pd.Timestamp,
    days: int = 90,
) -> dict[str, np.ndarray]:
    """Per creator and category over the last ``days``: GMV share, log promotions and conversion; each (n_c, K)."""
    recent = history[history["started_at"] >= cutoff - pd.Timedelta(days=days)]
    cat = product_category.reindex(recent["product_id"]).to_numpy()
    frame = pd.DataFrame(
        {
            "creator_id": recent["creator_id"].to_numpy(),
            "category": pd.Categorical(cat, categories=categories),
            "gmv": recent["gmv"].to_numpy(np.float64),
            "orders": recent["orders"].to_numpy(np.float64),
            "clicks": recent["clicks"].to_numpy(np.float64),
            "n": 1.0,
        }
    )
    grouped = frame.groupby(["creator_id", "category"], observed=False)[["gmv", "orders", "clicks", "n"]].sum()

    def matrix(col: str) -> np.ndarray:
        wide = grouped[col].unstack("category").reindex(index=creator_index, columns=categories)
        return wide.fillna(0).to_numpy(np.float64)

    gmv, orders, clicks, n = matrix("gmv"), matrix("orders"), matrix("clicks"), matrix("n")
    total = gmv.sum(axis=1, keepdims=True)
    return {
        "gmv_share": np.divide(gmv, total, out=np.zeros_like(gmv), where=total > 0),
        "log_promotions": np.log1p(n),
        "conversion": np.divide(orders, clicks, out=np.full_like(orders, np.nan), where=clicks > 0),
    }


def pair_history(
    history: pd.DataFrame, creator_index: pd.Index, product_index: pd.Index
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Earlier collaborations as sorted keys ``creator_row * n_products + product_row`` with counts, GMV, orders."""
    c = creator_index.get_indexer(pd.Index(history["creator_id"])).astype(np.int64)
    p = product_index.get_indexer(pd.Index(history["product_id"])).astype(np.int64)
    keep = (c >= 0) & (p >= 0)
    keys = c[keep] * len(product_index) + p[keep]
    uniq, inverse = np.unique(keys, return_inverse=True)
    counts = np.bincount(inverse, minlength=len(uniq)).astype(np.float64)
    gmv = np.bincount(inverse, weights=history["gmv"].to_numpy(np.float64)[keep], minlength=len(uniq))
    orders = np.bincount(inverse, weights=history["orders"].to_numpy(np.float64)[keep], minlength=len(uniq))
    return uniq, counts, gmv, orders


def typical_promoter_size(history: pd.DataFrame, followers: pd.Series, product_index: pd.Index) -> np.ndarray:
    """Median log followers of the creators who promoted each product (NaN without history)."""
    logf = np.log1p(followers.reindex(history["creator_id"]).to_numpy(np.float64))
    med = pd.Series(logf, index=history["product_id"].to_numpy()).groupby(level=0).median()
    return med.reindex(product_index).to_numpy(np.float64)


def usual_price(history: pd.DataFrame, price: pd.Series, creator_index: pd.Index) -> np.ndarray:
    """Median log price of the products each creator promoted (NaN without history)."""
    logp = np.log(price.reindex(history["product_id"]).to_numpy(np.float64))
    med = pd.Series(logp, index=history["creator_id"].to_numpy()).groupby(level=0).median()
    return med.reindex(creator_index).to_numpy(np.float64)


def main_format(history: pd.DataFrame, creator_index: pd.Index, formats: tuple[str, ...]) -> np.ndarray:
    """Each creator's most frequent promotion format so far (code into ``formats``; 0 without history)."""
    codes = pd.Categorical(history["format"], categories=list(formats)).codes
    counts = pd.crosstab(history["creator_id"].to_numpy(), codes).reindex(index=creator_index, fill_value=0)
    counts = counts.reindex(columns=range(len(formats)), fill_value=0)
    return counts.to_numpy().argmax(axis=1).astype(np.int8)
