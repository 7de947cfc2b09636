"""Stage: scoring — pair features and the direction's ranker score, with the score's place among validation pairs.

The pairs' plan rate is a ranking feature, so scoring takes the pairs' :class:`Resolved` plan resolution.

**The cascade** (creators for a product; ``ranker.cascade_trees``, ``ranker.cascade_keep``). The product ranker's
first trees score every candidate; the ``keep`` best of them form the list's first tier and get the whole ranker's
score, the others form a second tier that follows the first. Both tiers are ordered by the whole ranker's score, so
a list read no deeper than ``keep`` needs the whole ranker for ``keep`` candidates only — the second tier is
scored only when a page reaches it — and every page of a list sees the same order. On the 1M bench world (502 trees,
1,000 candidates, 100 products) the first 64 trees keep in their best 400 every one of the whole ranker's top 50
and 99.9% of its top 200 (the first rerank block): bench/PROFILE.md. Creator pools are not cascaded: their ranker
has half the trees, and its first 64 kept only 94% of the top 200 at the same cost.

**Retrieval affinity** (``matching.retrieval_blend``). Each pair also gets the retrieval score FAISS ranked it by,
standardised for its query over every candidate of the other side (:class:`RetrievalAffinity`). The retrieval
weights are a linear model distilled from the ranker over the whole catalogue, and on the full catalogue their
order adds to what the ranker and the GMV model know; the rerank blends it with the capacity-aware value
(:func:`.rerank.capacity_value`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.engine import Engine
from models.matching.resolution import Resolved
from models.retrieval.retriever import Retriever
from recsys.core.vocab import DIRECTIONS, Direction, PromotionFormat


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
    tier: np.ndarray | None = None  # the cascade's tier per pair (0 first, 1 after), None: one tier
    affinity_model: RetrievalAffinity | None = None  # the retrieval affinity, None: not used

    def affinity(self, idx: np.ndarray) -> np.ndarray | None:
        """The standardised retrieval score of pairs ``idx`` (computed for the rows a rerank reads), or None."""
        if self.affinity_model is None:
            return None
        return self.affinity_model.z(self.direction, self.c[idx], self.p[idx])


@dataclass(frozen=True)
class Cascade:
    """The first ``trees`` of the ranker pass the ``keep`` best candidates on to the whole ranker."""

    trees: int
    keep: int


class RetrievalAffinity:
    """The retrieval score of (query, candidate) pairs standardised per query over every row of the candidate side.

    With ``a`` the query's weighted vector (:meth:`.Retriever.query`) and ``u`` a candidate's vector, the score is
    ``s = a · u`` (what FAISS ranks by) and ``z = (s − a · ū) / sqrt(aᵀ Σ a)``, ``ū`` and ``Σ`` the mean and the
    covariance of the candidate side's vectors (one D × D matrix per direction, computed once; over every
    ``step``-th row when the side has more than ``max_rows``, as 1M products do): the same as standardising ``s``
    over all candidates of the query, for the cost of one dot product per pair."""

    def __init__(self, retriever: Retriever, max_rows: int = 200_000) -> None:
        self.retriever = retriever
        self.max_rows = max_rows
        self._moments: dict[Direction, tuple[np.ndarray, np.ndarray]] = {}

    def moments(self, direction: Direction, chunk: int = 65_536) -> tuple[np.ndarray, np.ndarray]:
        """Mean (D,) and covariance (D, D) of the vectors ``direction``'s queries rank (float64, ``chunk`` rows at a
        time, read from the vectors' file when mapped: a strided pass over the mapping kept all 1M product vectors
        resident in every worker)."""
        if direction not in self._moments:
            vectors = self.retriever.candidate_vectors(direction)
            step = -(-len(vectors) // self.max_rows)  # 1 up to max_rows rows
            n, dim = -(-len(vectors) // step), vectors.shape[1]
            total, outer = np.zeros(dim), np.zeros((dim, dim))
            for rows in self.retriever.candidate_every(direction, step, chunk):
                block = np.asarray(rows, dtype=np.float64)
                total += block.sum(axis=0)
                outer += block.T @ block
            mean = total / max(n, 1)
            self._moments[direction] = (mean, outer / max(n, 1) - np.outer(mean, mean))
        return self._moments[direction]

    def z(self, direction: Direction, c: np.ndarray, p: np.ndarray) -> np.ndarray:
        """The standardised retrieval score of each (creator row, product row) pair for its query."""
        queries, inverse = np.unique(direction.query_rows(c, p), return_inverse=True)
        if len(queries) == 0:
            return np.empty(0)
        a = np.stack([self.retriever.query(direction, int(q)) for q in queries]).astype(np.float64)
        mean, cov = self.moments(direction)
        sigma = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", a, cov, a), 0.0))[inverse]
        rows = direction.candidate_rows(c, p)
        score = self.retriever.pair_scores(direction, queries[inverse], rows) - (a @ mean)[inverse]
        # a query whose scores do not vary over the candidates (a zero query vector) has no affinity: z = 0
        spread = sigma > 1e-12
        return np.asarray(np.where(spread, score / np.where(spread, sigma, 1.0), 0.0), dtype=np.float64)


class PairScorer:
    """Features -> the ranker of the query's direction. One thread per call (concurrency comes from workers).

    ``cascade``: the product direction's cascade (see the module docstring), None for none; its first trees are
    compiled here, when the ranker is served compiled. ``affinity``: give the pairs their retrieval affinity
    (:class:`RetrievalAffinity`; the rerank blends it in)."""

    def __init__(
        self, engine: Engine, num_threads: int = 1, cascade: Cascade | None = None, affinity: bool = False
    ) -> None:
        self.engine = engine
        self.num_threads = num_threads
        self.affinity = RetrievalAffinity(engine.retriever) if affinity else None
        if self.affinity is not None:  # at start-up, not in the first request
            for direction in DIRECTIONS:
                self.affinity.moments(direction)
        ranker = engine.rankers[Direction.PRODUCT]
        self.cascade = cascade if cascade is not None and 0 < cascade.trees < ranker.n_trees else None
        if self.cascade is not None:
            ranker.prepare_head(self.cascade.trees)

    def format_codes(self, c: np.ndarray, fmt: PromotionFormat | None) -> np.ndarray:
        """The promotion format each pair is scored for: the one asked for, else the creator's main format."""
        if fmt is not None:
            return np.full(len(c), PromotionFormat(fmt).code)
        return self.engine.tables.arrays["creator_main_format"][c].astype(np.int64)

    def score(
        self,
        direction: Direction,
        c: np.ndarray,
        p: np.ndarray,
        fmt: PromotionFormat | None,
        resolved: Resolved,
        depth: int | None = None,
    ) -> ScoredPairs:
        """The pairs scored; ``depth``: how many positions of the ranked list the caller reads (None: all, or an
        order by anything but the score: no cascade)."""
        X = self.engine.tables.vectors(c, p, resolved.rate, self.format_codes(c, fmt))
        ranker = self.engine.rankers[direction]
        cascade = self.cascade if direction is Direction.PRODUCT and depth is not None else None
        tier = None
        if cascade is None or len(c) <= cascade.keep:
            score = ranker.predict(X, num_threads=self.num_threads)
        else:
            head = ranker.head_scores(X, cascade.trees)
            first = np.lexsort((direction.candidate_rows(c, p), -head))[: cascade.keep]
            tier = np.ones(len(c), dtype=np.int8)
            tier[first] = 0
            if depth is not None and depth <= cascade.keep:  # the second tier is never read: left unscored
                score = np.full(len(c), -np.inf)
                score[first] = ranker.predict(X[first], num_threads=self.num_threads)
            else:
                score = ranker.predict(X, num_threads=self.num_threads)
        fit = self.engine.fit_maps[direction].transform(score)
        return ScoredPairs(direction, c, p, X, score, fit, resolved, tier, self.affinity)
