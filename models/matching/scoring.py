"""Stage: scoring — pair features and the direction's ranker score, with the score's place among validation pairs.

The pairs' plan rate is a ranking feature, so scoring takes the pairs' :class:`Resolved` plan resolution.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.engine import Engine
from models.matching.resolution import Resolved
from recsys.core.vocab import Direction, PromotionFormat


@dataclass(frozen=True)
class ScoredPairs:
    """Aligned (creator row, product row) pairs of one request with their features and scores.

    X : ndarray of shape (n_pairs, n_features); score : the ranker's raw score; fit : its place among the
    validation window's pairs, in [0, 1].
    """

    direction: Direction
    c: np.ndarray
    p: np.ndarray
    X: np.ndarray
    score: np.ndarray
    fit: np.ndarray
    resolved: Resolved


class PairScorer:
    """Features -> the ranker of the query's direction. One thread per call (concurrency comes from workers)."""

    def __init__(self, engine: Engine, num_threads: int = 1) -> None:
        self.engine = engine
        self.num_threads = num_threads

    def format_codes(self, c: np.ndarray, fmt: PromotionFormat | None) -> np.ndarray:
        """The promotion format each pair is scored for: the one asked for, else the creator's main format."""
        if fmt is not None:
            return np.full(len(c), PromotionFormat(fmt).code)
        return self.engine.tables.arrays["creator_main_format"][c].astype(np.int64)

    def score(
        self, direction: Direction, c: np.ndarray, p: np.ndarray, fmt: PromotionFormat | None, resolved: Resolved
    ) -> ScoredPairs:
        X = self.engine.tables.vectors(c, p, resolved.rate, self.format_codes(c, fmt))
        score = self.engine.rankers[direction].predict(X, num_threads=self.num_threads)
        fit = self.engine.fit_maps[direction].transform(score)
        return ScoredPairs(direction, c, p, X, score, fit, resolved)
