"""Cross-validation folds of the brand -> creator experiment: brand-disjoint, or brand- and creator-disjoint.

Both protocols split the brands with ``KFold(shuffle=True, random_state=seed)``; a fold's held-out brands rank ALL
creators that appear in their own pairs (the fold's pool).

- ``brand-disjoint`` (the historical default): methods learn from every pair of the training brands, including
  pairs that name a pool creator (a creator shared with a training brand is "seen").
- ``creator-disjoint``: as above, and every training pair whose creator is in the held-out pool is removed (a
  training brand left with no pair is dropped from training), so 100 % of the pool's creators are unseen in the
  training pairs — the situation of the hidden test (74 unseen brands x 797 mostly unseen creators). With 4 folds
  a fold holds ~71 brands and ~800 creators, the size of that test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from sklearn.model_selection import KFold

from recsys.app.experiments.brand_influencer.data import BrandInfluencerData

Protocol = Literal["brand-disjoint", "creator-disjoint"]
PROTOCOLS: tuple[str, ...] = ("brand-disjoint", "creator-disjoint")


@dataclass(frozen=True)
class Fold:
    """One fold. ``train_data`` is what methods may learn from: its pairs are the training pairs only
    (brand-disjoint: the full data object, of which methods read the pairs of ``train_rows``)."""

    train_rows: np.ndarray
    test_rows: np.ndarray
    pool: np.ndarray
    train_data: BrandInfluencerData
    dropped_pairs: int

    @property
    def unseen_share(self) -> float:
        """Share of the pool's creators that appear in no training pair of this fold."""
        seen = np.unique(self.train_data.positives_of(self.train_rows)["creator_row"].to_numpy())
        return float(np.mean(~np.isin(self.pool, seen))) if len(self.pool) else 1.0


def brand_folds(n_brands: int, folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Brand-disjoint (train_rows, test_rows) splits, shuffled with ``seed``."""
    splitter = KFold(folds, shuffle=True, random_state=seed)
    return [(tr.astype(np.int64), te.astype(np.int64)) for tr, te in splitter.split(np.arange(n_brands))]


def _pool(data: BrandInfluencerData, brand_rows: np.ndarray) -> np.ndarray:
    return np.unique(data.positives_of(brand_rows)["creator_row"].to_numpy())


def _without_pool_creators(data: BrandInfluencerData, train_rows: np.ndarray, pool: np.ndarray) -> Fold:
    assert data.pairs is not None
    pairs = data.pairs[data.pairs["brand_row"].isin(train_rows)]
    keep = ~pairs["creator_row"].isin(pool).to_numpy()
    kept = pairs[keep]
    rows = np.asarray(train_rows, dtype=np.int64)
    rows = rows[np.isin(rows, kept["brand_row"].to_numpy())]  # brands left without any pair cannot teach anything
    train_data = BrandInfluencerData(data.path, data.brands, data.creators, kept.copy())
    return Fold(rows, np.empty(0, np.int64), pool, train_data, int((~keep).sum()))


def make_folds(data: BrandInfluencerData, folds: int, seed: int, protocol: Protocol) -> list[Fold]:
    """The folds of ``protocol`` over ``data``'s brands (see the module docstring)."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; choose one of {PROTOCOLS}")
    out = []
    for train_rows, test_rows in brand_folds(len(data.brands), folds, seed):
        pool = _pool(data, test_rows)
        if protocol == "brand-disjoint":
            out.append(Fold(train_rows, test_rows, pool, data, 0))
            continue
        fold = _without_pool_creators(data, train_rows, pool)
        out.append(Fold(fold.train_rows, test_rows, pool, fold.train_data, fold.dropped_pairs))
    return out
