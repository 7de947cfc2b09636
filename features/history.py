"""Point-in-time sales and engagement history: aggregates of promotions started before a cutoff.

A promotion counts with the totals recorded for it (views, clicks, orders, GMV, refunds) once it started before the
cutoff; nothing that started at or after the cutoff is ever read. The history is turned into row codes once
(:class:`History`) and aggregated with ``np.bincount`` — a single pass per figure, whatever the catalogue size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from recsys.core.vocab import sorted_unique

WINDOWS: tuple[int, ...] = (7, 30, 90)
OUTCOME_COLUMNS = ("views", "likes", "comments", "shares", "clicks", "orders", "gmv", "refunds")


def before(promotions: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    """Promotions that started strictly before ``cutoff``."""
    return promotions[promotions["started_at"] < cutoff]


def _ratio(num: ArrayLike, den: ArrayLike) -> np.ndarray:
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    return np.divide(num, den, out=np.full(num.shape, np.nan), where=den > 0)


@dataclass
class History:
    """The promotions before a cutoff as aligned arrays, ids replaced by creator and product row codes."""

    c: np.ndarray  # creator row per promotion
    p: np.ndarray  # product row per promotion
    age_days: np.ndarray  # days between the promotion's start and the cutoff (> 0)
    fmt: np.ndarray  # format code
    outcomes: dict[str, np.ndarray]  # OUTCOME_COLUMNS as float64
    n_creators: int
    n_products: int

    @classmethod
    def of(
        cls,
        promotions: pd.DataFrame,
        creators: pd.Index,
        products: pd.Index,
        cutoff: pd.Timestamp,
        formats: tuple[str, ...],
    ) -> History:
        past = before(promotions, cutoff)
        c = creators.get_indexer(pd.Index(past["creator_id"]))
        p = products.get_indexer(pd.Index(past["product_id"]))
        keep = (c >= 0) & (p >= 0)
        age = (cutoff - past["started_at"]).dt.total_seconds().to_numpy(np.float64) / 86400
        return cls(
            c=c[keep].astype(np.int64),
            p=p[keep].astype(np.int64),
            age_days=age[keep],
            fmt=pd.Categorical(past["format"], categories=list(formats)).codes[keep].astype(np.int64),
            outcomes={col: past[col].to_numpy(np.float64)[keep] for col in OUTCOME_COLUMNS},
            n_creators=len(creators),
            n_products=len(products),
        )

    @classmethod
    def empty(cls, n_creators: int, n_products: int) -> History:
        """No promotion at all: every aggregate of it is the value of an entity without history."""
        none = np.zeros(0, dtype=np.int64)
        outcomes = {col: np.zeros(0, dtype=np.float64) for col in OUTCOME_COLUMNS}
        return cls(none, none, np.zeros(0, dtype=np.float64), none, outcomes, n_creators, n_products)

    def __len__(self) -> int:
        return len(self.c)

    def side(self, name: str) -> tuple[np.ndarray, int]:
        """Codes and size of one side: ``c`` (creators) or ``p`` (products)."""
        return (self.c, self.n_creators) if name == "c" else (self.p, self.n_products)


def _weighted(codes: np.ndarray, weights: np.ndarray, n: int) -> np.ndarray:
    """``np.bincount`` with weights, float64 even without codes (where numpy returns int64)."""
    return np.bincount(codes, weights=weights, minlength=n).astype(np.float64, copy=False)


def window_sums(
    codes: np.ndarray, n: int, age_days: np.ndarray, outcomes: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """The additive figures behind :func:`window_features`, per code ``0..n-1``: promotion counts and outcome sums
    over the last 7/30/90 days and all time, and the age of the newest promotion (``inf`` without one).

    Every figure but ``newest`` is a sum and ``newest`` a minimum, so sums of disjoint sets of promotions (one per
    Dask partition) combine into the sums of their union."""
    out: dict[str, np.ndarray] = {}
    for days in WINDOWS:
        recent = age_days <= days
        rc = codes[recent]
        out[f"count_{days}"] = np.bincount(rc, minlength=n)
        for col in (
            "gmv",
            "orders",
            "clicks",
            "views",
            "refunds",
            *(("likes", "comments", "shares") if days == 30 else ()),
        ):
            out[f"{col}_{days}"] = _weighted(rc, outcomes[col][recent], n)
    out["count_all"] = np.bincount(codes, minlength=n)
    out["gmv_all"] = _weighted(codes, outcomes["gmv"], n)
    newest = np.full(n, np.inf)
    np.minimum.at(newest, codes, age_days)
    out["newest"] = newest
    return out


def window_features(sums: dict[str, np.ndarray], prefix: str) -> pd.DataFrame:
    """Per-entity sales history from :func:`window_sums` (``prefix`` "c" or "p" names the side).

    Columns (``{prefix}_...``): promotions, log GMV, log orders, conversion (orders / clicks), GPM (GMV per 1,000
    views), refund rate (refunds / orders) per window; 30-day interaction rate ((likes+comments+shares) / views);
    all-time log GMV and promotions; days since the last promotion; whether any history exists.
    """
    out: dict[str, np.ndarray] = {}
    for days in WINDOWS:
        gmv, orders, clicks, views = (sums[f"{col}_{days}"] for col in ("gmv", "orders", "clicks", "views"))
        out[f"{prefix}_promotions_{days}d"] = np.asarray(sums[f"count_{days}"]).astype(np.float64)
        out[f"{prefix}_log_gmv_{days}d"] = np.log1p(gmv)
        out[f"{prefix}_log_orders_{days}d"] = np.log1p(orders)
        out[f"{prefix}_conversion_{days}d"] = _ratio(orders, clicks)
        out[f"{prefix}_gpm_{days}d"] = 1000 * _ratio(gmv, views)
        out[f"{prefix}_refund_rate_{days}d"] = _ratio(sums[f"refunds_{days}"], orders)
        if days == 30:
            engaged = sums["likes_30"] + sums["comments_30"] + sums["shares_30"]
            out[f"{prefix}_interaction_rate_30d"] = _ratio(engaged, views)
    count = np.asarray(sums["count_all"])
    out[f"{prefix}_log_gmv_all"] = np.log1p(sums["gmv_all"])
    out[f"{prefix}_promotions_all"] = count.astype(np.float64)
    out[f"{prefix}_days_since_last"] = np.where(count > 0, sums["newest"], np.nan)
    out[f"{prefix}_has_history"] = (count > 0).astype(np.float64)
    return pd.DataFrame(out)


def window_aggregates(history: History, prefix: str) -> pd.DataFrame:
    """Per-entity sales history over the last 7/30/90 days and all time (``prefix`` "c" or "p" picks the side);
    the columns are :func:`window_features`'."""
    codes, n = history.side(prefix)
    return window_features(window_sums(codes, n, history.age_days, history.outcomes), prefix)


def creator_category_history(
    history: History, product_category: np.ndarray, n_categories: int, days: int = 90
) -> dict[str, np.ndarray]:
    """Per creator and category over the last ``days``: GMV share, log promotions and conversion; each (n_c, K)."""
    recent = history.age_days <= days
    cell = history.c[recent] * n_categories + product_category[history.p[recent]]
    size = history.n_creators * n_categories

    def matrix(weights: np.ndarray | None) -> np.ndarray:
        counts = np.bincount(cell, weights=weights, minlength=size)  # int64 when ``cell`` is empty, even weighted
        return counts.astype(np.float64).reshape(history.n_creators, n_categories)

    o = history.outcomes
    gmv, orders = matrix(o["gmv"][recent]), matrix(o["orders"][recent])
    clicks, n = matrix(o["clicks"][recent]), matrix(None).astype(np.float64)
    total = gmv.sum(axis=1, keepdims=True)
    return {
        "gmv_share": np.divide(gmv, total, out=np.zeros_like(gmv), where=total > 0),
        "log_promotions": np.log1p(n),
        "conversion": np.divide(orders, clicks, out=np.full_like(orders, np.nan), where=clicks > 0),
    }


def pair_history(history: History) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Earlier collaborations as sorted keys ``creator_row * n_products + product_row`` with counts, GMV, orders."""
    keys = history.c * history.n_products + history.p
    uniq, inverse = np.unique(keys, return_inverse=True)
    counts = np.bincount(inverse, minlength=len(uniq)).astype(np.float64)
    gmv = np.bincount(inverse, weights=history.outcomes["gmv"], minlength=len(uniq))
    orders = np.bincount(inverse, weights=history.outcomes["orders"], minlength=len(uniq))
    return uniq, counts, gmv, orders


def distinct_partners(history: History, days: int = 90) -> np.ndarray:
    """Per product, how many distinct creators promoted it in the last ``days``."""
    recent = history.age_days <= days
    pairs = sorted_unique(history.p[recent] * history.n_creators + history.c[recent])
    return np.bincount(pairs // history.n_creators, minlength=history.n_products).astype(np.float64)


def _median_by(codes: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    med = pd.Series(values).groupby(codes).median()
    out = np.full(n, np.nan)
    out[med.index.to_numpy()] = med.to_numpy()
    return out


def typical_promoter_size(history: History, log_followers: np.ndarray) -> np.ndarray:
    """Median log followers of the creators who promoted each product (NaN without history)."""
    return _median_by(history.p, log_followers[history.c], history.n_products)


def usual_price(history: History, log_price: np.ndarray) -> np.ndarray:
    """Median log price of the products each creator promoted (NaN without history)."""
    return _median_by(history.c, log_price[history.p], history.n_creators)


def main_format(history: History, n_formats: int) -> np.ndarray:
    """Each creator's most frequent promotion format so far (code; 0 without history)."""
    counts = np.bincount(history.c * n_formats + history.fmt, minlength=history.n_creators * n_formats)
    return counts.reshape(history.n_creators, n_formats).argmax(axis=1).astype(np.int8)
