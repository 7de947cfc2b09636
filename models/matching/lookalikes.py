"""Lookalike creators (Douyin's 相似达人) from the retrieval vectors.

A creator's retrieval vector (:mod:`models.retrieval.retriever`) is made of blocks the ranker weighs when it ranks
creators for a product: audience shares, listed categories and GMV share by category, usual price, collaborative
factors, embeddings, reach and engagement. Two creators look alike when those blocks agree *as the ranker weighs
them*: each dimension is multiplied by the absolute product -> creators retrieval weight (what it is worth in a
merchant's list), the mean creator is subtracted (what every creator shares says nothing about likeness) and the rows
are scaled to unit length. Similarity is the cosine of those vectors, in [-1, 1], searched exactly with FAISS
(:class:`models.retrieval.ann.VectorIndex`) under the admission mask.

On the demo marketplace (2,000 creators) the 10 nearest creators share the query creator's main category 93% of
the time against 7% for random creators (``python -m bench.lookalikes``; figures in docs/serving.md); unweighted
vectors shared it 53% of the time, standardised ones 89%.

:meth:`LookalikeIndex.like_any` serves a merchant: creators like any of its best performers, each credited to the
performer it resembles most.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.retrieval.ann import VectorIndex
from models.retrieval.retriever import Retriever
from recsys.core.rules import gpm
from recsys.core.vocab import Direction

OVERFETCH = 4  # candidates per seed, as a multiple of k, before partners and duplicates are dropped


@dataclass(frozen=True)
class Lookalikes:
    """Creator rows, best first, with their similarity and (merchant lookalikes) the seed row each resembles."""

    rows: np.ndarray  # int64
    similarity: np.ndarray  # float64 cosine in [-1, 1]
    seed: np.ndarray  # int64: the seed creator row each resembles most (the query row for one creator)


def lookalike_vectors(retriever: Retriever) -> np.ndarray:
    """Unit rows (n_creators, D) float32: creator vectors x |product -> creators weights|, centred on the mean."""
    weights = np.abs(np.asarray(retriever.weights[Direction.PRODUCT], dtype=np.float64))
    z = np.asarray(retriever.creator_vectors, dtype=np.float64) * weights
    z -= z.mean(axis=0)
    norms = np.linalg.norm(z, axis=1, keepdims=True)
    return np.divide(z, norms, out=np.zeros_like(z), where=norms > 0).astype(np.float32)


class LookalikeIndex:
    """Exact cosine search among creators (see the module docstring). Built once per matcher state."""

    def __init__(self, retriever: Retriever) -> None:
        self.vectors_ = lookalike_vectors(retriever)
        self.index_ = VectorIndex(kind="flat").fit(self.vectors_)

    @property
    def n_rows(self) -> int:
        return int(self.vectors_.shape[0])

    def similar(self, row: int, k: int, allowed: np.ndarray) -> Lookalikes:
        """The ``k`` creators most like creator ``row`` among ``allowed`` (a bool mask; ``row`` itself excluded)."""
        mask = np.asarray(allowed, dtype=bool).copy()
        mask[row] = False
        sims, rows = self.index_.search_filtered(self.vectors_[row], k, mask)
        return Lookalikes(rows.astype(np.int64), sims.astype(np.float64), np.full(len(rows), row, np.int64))

    def like_any(self, seeds: np.ndarray, k: int, allowed: np.ndarray) -> Lookalikes:
        """The ``k`` creators most like any of ``seeds`` among ``allowed`` (seeds excluded), each scored by its
        highest similarity to a seed and credited to that seed (ties: the earlier seed, i.e. the better one)."""
        mask = np.asarray(allowed, dtype=bool).copy()
        mask[np.asarray(seeds, dtype=np.int64)] = False
        best: dict[int, tuple[float, int]] = {}
        for seed in np.asarray(seeds, dtype=np.int64).tolist():
            sims, rows = self.index_.search_filtered(self.vectors_[seed], k * OVERFETCH, mask)
            for sim, row in zip(sims.tolist(), rows.tolist(), strict=True):
                if row not in best or sim > best[row][0]:
                    best[row] = (sim, seed)
        order = sorted(best, key=lambda r: (-best[r][0], r))[:k]
        return Lookalikes(
            np.array(order, np.int64),
            np.array([best[r][0] for r in order], np.float64),
            np.array([best[r][1] for r in order], np.int64),
        )


def main_category(listed: np.ndarray, categories: list[str]) -> list[str | None]:
    """Per row of ``creator_category_listed`` (1 marks the main, first-listed category): its name, or None."""
    top = listed.argmax(axis=1)
    has = listed[np.arange(len(listed)), top] >= 1.0
    return [categories[int(c)] if ok else None for c, ok in zip(top, has, strict=True)]


@dataclass(frozen=True)
class Performers:
    """A merchant's best creators by realized GPM, best first (aligned arrays)."""

    rows: np.ndarray  # int64 creator rows
    views: np.ndarray  # float64 total views
    gmv: np.ndarray  # float64 total GMV (yuan)
    gpm: np.ndarray  # float64 GMV per 1,000 views


def best_performers(creator_rows: np.ndarray, views: np.ndarray, gmv: np.ndarray, min_views: int, n: int) -> Performers:
    """The ``n`` best creators by realized GPM (GMV per 1,000 views, :func:`recsys.core.rules.gpm`) over the
    promotions given (aligned arrays, one per promotion; rows < 0 are skipped), among creators with at least
    ``min_views`` views in total (and some views); ties by row."""
    known = np.asarray(creator_rows) >= 0
    rows = np.asarray(creator_rows, dtype=np.int64)[known]
    unique, inverse = np.unique(rows, return_inverse=True)
    total_views = np.bincount(inverse, weights=np.asarray(views, dtype=np.float64)[known], minlength=len(unique))
    total_gmv = np.bincount(inverse, weights=np.asarray(gmv, dtype=np.float64)[known], minlength=len(unique))
    realized = np.asarray(gpm(total_gmv, total_views), dtype=np.float64).reshape(-1)
    candidates = np.flatnonzero((total_views >= min_views) & (total_views > 0))
    order = candidates[np.lexsort((unique[candidates], -realized[candidates]))][:n]
    return Performers(unique[order], total_views[order], total_gmv[order], realized[order])


@dataclass(frozen=True)
class SharedTraits:
    """How often lookalikes share the query creator's main category and fan tier, against random creators."""

    queries: int
    k: int
    category_lookalikes: float
    category_random: float
    tier_lookalikes: float
    tier_random: float


def shared_traits(
    index: LookalikeIndex,
    category: np.ndarray,
    tier: np.ndarray,
    allowed: np.ndarray,
    k: int = 10,
    queries: int = 200,
    seed: int = 0,
) -> SharedTraits:
    """Over ``queries`` random allowed creators (seeded): the share of their ``k`` lookalikes (allowed creators, the
    query excluded) with the same main ``category`` code (-1: none, never equal) and fan ``tier`` code, and the same
    shares for ``k`` random allowed creators other than the query."""
    rng = np.random.default_rng(seed)
    pool = np.flatnonzero(allowed)
    picked = rng.choice(pool, size=min(queries, len(pool)), replace=False)
    same_cat: list[bool] = []
    same_tier: list[bool] = []
    rnd_cat: list[bool] = []
    rnd_tier: list[bool] = []
    for row in picked.tolist():
        found = index.similar(row, k, allowed).rows
        others = pool[pool != row]
        random_rows = rng.choice(others, size=min(k, len(others)), replace=False)
        for rows, cat_out, tier_out in ((found, same_cat, same_tier), (random_rows, rnd_cat, rnd_tier)):
            cat_out.extend(((category[rows] == category[row]) & (category[row] >= 0)).tolist())
            tier_out.extend((tier[rows] == tier[row]).tolist())
    return SharedTraits(
        len(picked),
        k,
        float(np.mean(same_cat)),
        float(np.mean(rnd_cat)),
        float(np.mean(same_tier)),
        float(np.mean(rnd_tier)),
    )
