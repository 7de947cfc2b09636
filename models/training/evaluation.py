"""Offline evaluation of rankings over query groups (logged outcomes as gains)."""

from __future__ import annotations

import numpy as np

from models.training.windows import Groups
from recsys.core.metrics import ndcg_at_k


def group_slices(sizes: np.ndarray) -> list[slice]:
    ends = np.cumsum(sizes)
    return [slice(int(e - s), int(e)) for s, e in zip(sizes, ends, strict=True)]


def ndcg_per_query(groups: Groups, scores: np.ndarray, k: int = 10) -> np.ndarray:
    """NDCG@k of each query when its candidates are ordered by ``scores`` (ties broken by row order); gains are the
    realized outcomes (linear). Queries without any positive outcome give NaN."""
    out = np.full(groups.n_queries, np.nan)
    for q, sl in enumerate(group_slices(groups.group_sizes)):
        gains = groups.gain[sl]
        if not np.any(gains > 0):
            continue
        order = np.lexsort((np.arange(len(gains)), -scores[sl]))
        out[q] = ndcg_at_k(list(order), {i: float(g) for i, g in enumerate(gains) if g > 0}, k)
    return out


def mean_ndcg(groups: Groups, scores: np.ndarray, k: int = 10) -> float:
    values = ndcg_per_query(groups, scores, k)
    return float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")


def recall_of_top(reference_top: list[np.ndarray], retrieved: list[np.ndarray]) -> float:
    """Mean share of each query's reference top items found in its retrieved list."""
    hits = [len(np.intersect1d(ref, got)) / max(1, len(ref)) for ref, got in zip(reference_top, retrieved, strict=True)]
    return float(np.mean(hits)) if hits else float("nan")
