"""Recall of an index recomputed with numpy: the reference the retrieval tests compare FAISS against."""

from __future__ import annotations

import numpy as np

from models.retrieval.ann import VectorIndex


def recall_against_brute_force(
    index: VectorIndex, queries: np.ndarray, items: np.ndarray, scale: np.ndarray | None, k: int
) -> float:
    """Mean share of each query's index top-``k`` that belongs to the true top-``k`` of ``queries @ (items *
    scale).T``, computed in float64 with numpy. A returned row scoring within 1e-4 of the true k-th best counts
    (ties at the boundary)."""
    stored = items.astype(np.float64) * (1.0 if scale is None else np.asarray(scale, dtype=np.float64))
    truth = np.atleast_2d(queries).astype(np.float64) @ stored.T
    _, rows = index.search(queries, k)
    shares = []
    for scores, found in zip(truth, rows, strict=True):
        kth_best = np.sort(scores)[::-1][k - 1]
        found = np.unique(found[found >= 0])
        shares.append(np.sum(scores[found] >= kth_best - 1e-4) / k)
    return float(np.mean(shares))
