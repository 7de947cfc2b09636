"""Candidate stage of the user–item pipelines: FAISS inner-product retrieval that skips each user's known items.

:class:`FaissCandidates` wraps :class:`models.retrieval.ann.VectorIndex`. Item vectors come from a collaborative model
(ALS factors, or EASE's item-item weight columns on small catalogues, where the user's query vector is the
history row itself); the search over-fetches by the length of the user's mask so a masked list is never short.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import scipy.sparse as sp

from models.retrieval.ann import VectorIndex


class FaissCandidates:
    """Top-``n_candidates`` unmasked items per user by inner product.

    Parameters
    ----------
    n_candidates : candidates kept per user after masking.
    kind : FAISS index kind (see :class:`models.retrieval.ann.VectorIndex`); "flat" is exact.
    seed : seed of the IVF k-means when ``kind`` is "ivf".
    """

    def __init__(self, n_candidates: int, kind: Literal["auto", "flat", "ivf", "hnsw"] = "flat", seed: int = 0):
        self.n_candidates = n_candidates
        self.kind = kind
        self.seed = seed

    def fit(self, item_vectors: np.ndarray) -> FaissCandidates:
        """Index ``item_vectors`` of shape (n_items, dim)."""
        self.index_ = VectorIndex(kind=self.kind, seed=self.seed).fit(item_vectors)
        return self

    def retrieve(self, user_vectors: np.ndarray, mask_rows: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
        """Candidates for a batch of users.

        user_vectors : (n_users, dim) queries; mask_rows : csr (n_users, n_items), stored entries are excluded.
        Returns (items, scores), each of shape (n_users, n_candidates), best first; ``-1`` / ``-inf`` pad a row
        when fewer unmasked items exist.
        """
        n_users = user_vectors.shape[0]
        if mask_rows.shape[0] != n_users:
            raise ValueError(f"{n_users} query vectors but {mask_rows.shape[0]} mask rows")
        items = np.full((n_users, self.n_candidates), -1, dtype=np.int64)
        scores = np.full((n_users, self.n_candidates), -np.inf, dtype=np.float32)
        if n_users == 0:
            return items, scores
        lengths = np.diff(mask_rows.indptr)
        fetch = min(self.index_.n_rows, self.n_candidates + int(lengths.max()))
        found_scores, found_rows = self.index_.search(user_vectors, fetch)
        for r in range(n_users):
            masked = mask_rows.indices[mask_rows.indptr[r] : mask_rows.indptr[r + 1]]
            row = found_rows[r]
            keep = (row >= 0) & ~np.isin(row, masked)
            kept_rows, kept_scores = row[keep][: self.n_candidates], found_scores[r][keep][: self.n_candidates]
            items[r, : kept_rows.size] = kept_rows
            scores[r, : kept_rows.size] = kept_scores
        return items, scores


def candidate_recall(candidates: Sequence[np.ndarray] | np.ndarray, relevant: Sequence[np.ndarray]) -> float:
    """Share of all relevant (held-out) items that made it into their user's candidate list (micro average)."""
    hits, total = 0, 0
    for cand, rel in zip(candidates, relevant, strict=True):
        rel = np.asarray(rel)
        hits += int(np.isin(rel, np.asarray(cand)).sum())
        total += rel.size
    return hits / total if total else float("nan")
