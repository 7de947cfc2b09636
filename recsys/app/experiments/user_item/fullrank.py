"""Full-catalogue ranking shared by the user–item adapters (ml-100k, amazon-beauty).

Every method ranks the *whole* catalogue for each user, with the user's known items masked. Score matrices are
built a chunk of users at a time (a dense (chunk, n_items) block) so memory stays bounded on 12k-item catalogues.

Conventions:

- ties are broken by the lower item index, in :func:`topk_rows` and in :func:`target_ranks` alike, so a top-k
  list and a target's rank always agree;
- masked items get score ``-inf`` and are never ranked; a list is padded with ``-1`` when fewer than ``k``
  items are left;
- the top-k lists and target ranks go through the one evaluation path,
  :mod:`recsys.app.experiments.framework.evaluation` (per-query rows, summaries, exposure); the full-list MRR of
  leave-one-out protocols is ``1 / rank`` of the single target, which is what
  :func:`recsys.core.metrics.reciprocal_rank` gives on the full list.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys.core.progress import track

ScoreFn = Callable[[np.ndarray], np.ndarray]  # user indices (chunk,) -> scores (chunk, n_items)


def history_matrix(histories: Sequence[np.ndarray], n_items: int) -> sp.csr_matrix:
    """Binary user x item matrix (float32) with a 1 for each item in ``histories[u]`` (duplicates count once)."""
    indptr = np.zeros(len(histories) + 1, dtype=np.int64)
    cols = []
    for u, items in enumerate(histories):
        uniq = np.unique(np.asarray(items, dtype=np.int64))
        if uniq.size and (uniq[0] < 0 or uniq[-1] >= n_items):
            raise ValueError(f"user row {u}: item index out of range [0, {n_items}) in its history")
        cols.append(uniq)
        indptr[u + 1] = indptr[u] + uniq.size
    indices = np.concatenate(cols) if cols else np.empty(0, np.int64)
    data = np.ones(indices.size, dtype=np.float32)
    return sp.csr_matrix((data, indices, indptr), shape=(len(histories), n_items))


def apply_mask(scores: np.ndarray, mask_rows: sp.csr_matrix) -> np.ndarray:
    """Set ``scores[i, j] = -inf`` wherever ``mask_rows[i, j]`` is stored (in place; returns ``scores``)."""
    coo = mask_rows.tocoo()
    scores[coo.row, coo.col] = -np.inf
    return scores


def topk_rows(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` best columns per row, best first, ties to the lower index; ``-1`` past ``-inf``.

    scores : ndarray of shape (n_rows, n_items). Returns int64 ndarray of shape (n_rows, k).
    """
    n_rows, n_items = scores.shape
    out = np.full((n_rows, k), -1, dtype=np.int64)
    if n_items == 0 or k == 0:
        return out
    kk = min(k, n_items)
    kth = -np.partition(-scores, kk - 1, axis=1)[:, kk - 1]
    for r in range(n_rows):
        row = scores[r]
        above = np.flatnonzero(row > kth[r])
        equal = np.flatnonzero(row == kth[r])[: kk - above.size]
        sel = np.concatenate([above, equal])
        sel = sel[np.isfinite(row[sel])]
        sel = sel[np.lexsort((sel, -row[sel]))]
        out[r, : sel.size] = sel
    return out


def target_ranks(scores: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """1-based rank of ``targets[i]`` in row ``i`` under the same order as :func:`topk_rows`.

    A masked target (score ``-inf``) gets rank ``inf``: it can never be recommended.
    """
    rows = np.arange(scores.shape[0])
    t_score = scores[rows, targets]
    better = (scores > t_score[:, None]).sum(axis=1)
    cols = np.arange(scores.shape[1])[None, :]
    tied_before = ((scores == t_score[:, None]) & (cols < targets[:, None])).sum(axis=1)
    ranks = (1 + better + tied_before).astype(np.float64)
    ranks[~np.isfinite(t_score)] = np.inf
    return ranks


@dataclass
class FullRanking:
    """Top-``k`` lists for every evaluated user, and the full-catalogue rank of a single target if given."""

    topk: np.ndarray  # (n_users, k) item indices, -1 padded
    target_rank: np.ndarray | None  # (n_users,) float, inf when the target is masked


def rank_all(
    score_fn: ScoreFn,
    users: np.ndarray,
    mask: sp.csr_matrix,
    k: int,
    targets: np.ndarray | None = None,
    chunk_size: int = 1024,
    description: str = "ranking",
) -> FullRanking:
    """Score all items for ``users`` a chunk at a time, mask ``mask[users]``, keep the top ``k``.

    mask : csr matrix of shape (n_users_total, n_items) indexed by user index.
    targets : optional (len(users),) item index per user whose full rank is also returned (leave-one-out).
    """
    users = np.asarray(users, dtype=np.int64)
    tops, ranks = [], []
    starts = range(0, users.size, chunk_size)
    for start in track(starts, description, total=len(starts)):
        chunk = users[start : start + chunk_size]
        scores = np.asarray(score_fn(chunk), dtype=np.float64)
        if scores.shape != (chunk.size, mask.shape[1]):
            raise ValueError(f"score function returned shape {scores.shape}, expected {(chunk.size, mask.shape[1])}")
        apply_mask(scores, mask[chunk])
        tops.append(topk_rows(scores, k))
        if targets is not None:
            ranks.append(target_ranks(scores, np.asarray(targets[start : start + chunk_size])))
    topk = np.concatenate(tops) if tops else np.empty((0, k), np.int64)
    return FullRanking(topk, np.concatenate(ranks) if targets is not None and ranks else None)


def category_breakdown(
    topk: np.ndarray,
    relevant: Sequence[np.ndarray],
    item_categories: np.ndarray,
    category_names: Sequence[str],
    k: int = 10,
) -> pd.DataFrame:
    """Per category: held-out items, recall@k over them (micro: found / held out), and shares.

    item_categories : bool ndarray (n_items, n_categories); an item may belong to several categories.
    Columns: category, ``recall@k``, ``rec_share@k`` (the category's share of the recommended slots),
    ``test_share`` (its share of the held-out items), held_out, found. Shares count one item once per category
    it belongs to, so each share column sums to 1.
    """
    cats = np.asarray(item_categories, dtype=bool)
    held = np.zeros(cats.shape[1])
    found = np.zeros(cats.shape[1])
    for row, rel in zip(topk, relevant, strict=True):
        rel = np.asarray(rel, dtype=np.int64)
        if rel.size == 0:
            continue
        held += cats[rel].sum(axis=0)
        found += cats[rel[np.isin(rel, row[:k])]].sum(axis=0)
    slots = topk[:, :k][topk[:, :k] >= 0]
    rec = cats[slots].sum(axis=0) if slots.size else np.zeros(cats.shape[1])
    return pd.DataFrame(
        {
            "category": list(category_names),
            f"recall@{k}": np.where(held > 0, found / np.maximum(held, 1), np.nan),
            f"rec_share@{k}": rec / max(rec.sum(), 1),
            "test_share": held / max(held.sum(), 1),
            "held_out": held.astype(np.int64),
            "found": found.astype(np.int64),
        }
    )


def sum_breakdowns(frames: Sequence[pd.DataFrame], k: int = 10) -> pd.DataFrame:
    """Pool :func:`category_breakdown` frames of several seeds (counts summed, ratios recomputed/averaged)."""
    held: pd.Series = pd.concat([f["held_out"] for f in frames], axis=1).sum(axis=1)
    found: pd.Series = pd.concat([f["found"] for f in frames], axis=1).sum(axis=1)
    return pd.DataFrame(
        {
            "category": frames[0]["category"],
            f"recall@{k}": np.where(held > 0, found / held.clip(lower=1), np.nan),
            f"rec_share@{k}": sum(f[f"rec_share@{k}"] for f in frames) / len(frames),
            "test_share": held / max(int(held.sum()), 1),
            "held_out": held,
            "found": found,
        }
    )
