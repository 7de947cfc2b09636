"""The ranker's product prior: one retrieval dimension the linear retriever cannot learn from features alone.

The retrieval weights are a linear model of elementwise products of creator and product blocks, distilled from a
boosted ranker. What the ranker thinks of a product *as such*, among the creators who would sell its category — its
rating, price band against the category, commission against the category, sell-through, all combined through trees —
is largely a nonlinear function of product columns, and the linear main effects catch only part of it. At 1M
products that part decided recall: the ranker's exact top 10 for a creator (99% of them in the creator's main
category) sat at retrieval ranks 500–850 for half of the misses.

So each product gets the ranker's mean score against a few *anchor* creators of its category (creators whose main
listed category it is, chosen once at build, seeded), standardised over the catalogue; the retriever adds it as a
dimension (creator side 1, product side the prior) whose weight the distillation fits like any other. Measured on the
1M bench bundle (``bench/PROFILE.md``): exact-search recall@500 of the ranker's top 10 for 200 held-out creators went
from .88 to .97 with 8 anchors (4 and 16 anchors: the same within .001), at 8 × (one ranker pass over the catalogue)
of build time. Products added later (onboarding overlays) get their prior from the same anchors and the serving
ranker, so old and new rows sit in one space.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from features.tables import FeatureTables

_CHUNK = 250_000  # rows per ranker call (bounds the feature matrix: 250k x ~130 float32 = ~130 MB)


class Scorer(Protocol):
    """What the prior needs of a ranker (``LambdaRanker`` and its compiled form both fit)."""

    def predict(self, X: np.ndarray, num_threads: int | None = None) -> np.ndarray: ...


def _main_category(tables: FeatureTables) -> np.ndarray:
    return np.argmax(np.asarray(tables.arrays["creator_category_listed"]), axis=1)


@dataclass(frozen=True)
class ProductPrior:
    """Anchor creator rows per product category and the standardisation of the prior over the bundle's catalogue.

    ``anchors``: (n_categories, n_anchors) creator rows, ``-1`` where a category had fewer creators than anchors."""

    anchors: np.ndarray
    mean: float
    std: float

    @classmethod
    def fit(
        cls, tables: FeatureTables, ranker: Scorer, n_anchors: int, rng: np.random.Generator
    ) -> tuple[ProductPrior, np.ndarray]:
        """Anchors drawn per category (creators whose main listed category it is; any creators for a category no
        creator mainly lists) and the prior of every product row: (the prior, its standardised column)."""
        if n_anchors < 1:
            raise ValueError("n_anchors must be at least 1")
        main = _main_category(tables)
        n_categories = len(tables.categories)
        anchors = np.full((n_categories, n_anchors), -1, dtype=np.int64)
        everyone = np.arange(len(tables.creators))
        for k in range(n_categories):
            pool = np.flatnonzero(main == k)
            pool = pool if len(pool) else everyone
            chosen = rng.choice(pool, size=min(n_anchors, len(pool)), replace=False)
            anchors[k, : len(chosen)] = np.sort(chosen)
        raw = cls(anchors, 0.0, 1.0).raw(tables, ranker, np.arange(len(tables.products)))
        with np.errstate(all="ignore"):  # a scorer that cannot score a pair (NaN) leaves that product at the mean
            mean, std = float(np.nanmean(raw)), float(np.nanstd(raw))
        prior = cls(anchors, mean if np.isfinite(mean) else 0.0, std if np.isfinite(std) and std > 0 else 1.0)
        return prior, prior.standardise(raw)

    def raw(self, tables: FeatureTables, ranker: Scorer, product_rows: np.ndarray) -> np.ndarray:
        """The ranker's mean score of each of ``product_rows`` against its category's anchors (float64)."""
        product_rows = np.asarray(product_rows, dtype=np.int64)
        category = np.asarray(tables.arrays["product_category"])[product_rows]
        out = np.zeros(len(product_rows), dtype=np.float64)
        for k in np.unique(category):
            at = np.flatnonzero(category == k)
            anchors = self.anchors[k][self.anchors[k] >= 0]
            for c in anchors:
                for start in range(0, len(at), _CHUNK):
                    part = at[start : start + _CHUNK]
                    p = product_rows[part]
                    out[part] += ranker.predict(tables.vectors(np.full(len(p), c), p)) / len(anchors)
        return out

    def standardise(self, raw: np.ndarray) -> np.ndarray:
        """(raw - mean) / std as float32; a NaN prior becomes 0 (the mean)."""
        return np.nan_to_num((np.asarray(raw, dtype=np.float64) - self.mean) / self.std, nan=0.0).astype(np.float32)

    def column(self, tables: FeatureTables, ranker: Scorer, product_rows: np.ndarray) -> np.ndarray:
        """The standardised prior of ``product_rows`` (what the retrieval dimension holds)."""
        return self.standardise(self.raw(tables, ranker, product_rows))

    def to_json(self) -> dict[str, Any]:
        return {"anchors": self.anchors.tolist(), "mean": self.mean, "std": self.std}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ProductPrior:
        anchors = np.array(data["anchors"], dtype=np.int64, ndmin=2)
        return cls(anchors, float(data["mean"]), float(data["std"]))
