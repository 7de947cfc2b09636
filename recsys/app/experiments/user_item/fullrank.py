"""Full-ranking evaluation shared by the user–item adapters (ml-100k, amazon-beauty).

Every method ranks the *whole* catalogue for each user, with the user's known items masked. Score matrices are
built a chunk of users at a time (a dense (chunk, n_items) block) so memory stays bounded on 12k-item catalogues.

Conventions:

- ties are broken by the lower item index, in :func:`topk_rows` and in :func:`target_ranks` alike, so a top-k
  list and a target's rank always agree;
- masked items get score ``-inf`` and are never ranked; a list is padded with ``-1`` when fewer than ``k``
  items are left;
- metric values come from :mod:`recsys.core.metrics` (``ndcg``, ``recall``, ``hr`` = hit rate, ``mrr`` = reciprocal
  rank of the first relevant item within the cut-off); the full-list MRR of leave-one-out protocols is
  ``1 / rank`` of the single target, which is what :func:`recsys.core.metrics.reciprocal_rank` gives on the full list.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys.app.experiments.base import MethodResult
from recsys.core import metrics
from recsys.core.progress import track

ScoreFn = Callable[[np.ndarray], np.ndarray]  # user indices (chunk,) -> scores (chunk, n_items)

METRIC_FUNCS: dict[str, Callable[..., float]] = {
    "ndcg": metrics.ndcg_at_k,
    "recall": metrics.recall_at_k,
    "hr": metrics.hit_rate_at_k,
}


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


def metric_rows(
    topk: np.ndarray,
    relevant: Sequence[np.ndarray],
    query_ids: Sequence[object] | np.ndarray,
    ks: Sequence[int],
    names: Sequence[str] = ("recall", "ndcg", "hr", "mrr"),
    target_rank: np.ndarray | None = None,
) -> pd.DataFrame:
    """One row per query with at least one relevant item: ``<name>@<k>`` for each name and k.

    ``mrr@k`` is the reciprocal rank of the first relevant item within the top k (0 if none), RecBole's MRR@k.
    With ``target_rank`` (leave-one-out), a column ``mrr`` holds the full-list reciprocal rank ``1 / rank``.
    """
    rows = []
    for qi, qid in enumerate(query_ids):
        rel = {int(i) for i in np.asarray(relevant[qi]).tolist()}
        if not rel:
            continue
        ranked = [int(i) for i in topk[qi] if i >= 0]
        row: dict[str, object] = {"query": qid}
        for k in ks:
            for name in names:
                if name == "mrr":
                    row[f"mrr@{k}"] = metrics.reciprocal_rank(ranked[:k], rel)
                else:
                    row[f"{name}@{k}"] = METRIC_FUNCS[name](ranked, rel, k)
        if target_rank is not None:
            row["mrr"] = 0.0 if not np.isfinite(target_rank[qi]) else 1.0 / float(target_rank[qi])
        rows.append(row)
    return pd.DataFrame(rows)


def exposure(topk: np.ndarray, n_items: int, k: int = 10) -> np.ndarray:
    """How many top-``k`` lists each item appears in; int64 array of shape (n_items,)."""
    items = topk[:, :k]
    return np.bincount(items[items >= 0], minlength=n_items).astype(np.int64)


def at_k_frame(per_seed: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Long frame (k, metric, value) of every ``<metric>@<k>`` column: mean over queries, then over seeds."""
    means = pd.concat([f.drop(columns=["query", "seed"], errors="ignore").mean() for f in per_seed], axis=1)
    rows = []
    for col, value in means.mean(axis=1).items():
        name, sep, k = str(col).partition("@")
        if sep and k.isdigit():
            rows.append({"k": int(k), "metric": name, "value": float(value)})
    return pd.DataFrame(rows, columns=["k", "metric", "value"]).sort_values(["metric", "k"], ignore_index=True)


def summarize(
    name: str,
    per_seed: Sequence[pd.DataFrame],
    headline: Sequence[str],
    seeds: Sequence[int],
    exposure_counts: np.ndarray | None = None,
    per_category: pd.DataFrame | None = None,
) -> MethodResult:
    """A :class:`MethodResult` from one per-query frame per seed.

    ``metrics`` = mean over seeds of the per-seed means of the ``headline`` columns; ``metrics_std`` = sample
    standard deviation (ddof=1) of those per-seed means when there are several seeds; ``per_query`` keeps the
    headline columns (plus ``seed`` with several seeds); ``metrics_at_k`` covers every ``<metric>@<k>`` column.
    """
    if len(per_seed) != len(seeds):
        raise ValueError(f"{len(per_seed)} per-query frames for {len(seeds)} seeds")
    seed_means = pd.DataFrame([f[list(headline)].mean() for f in per_seed])
    metrics_mean = {c: float(seed_means[c].mean()) for c in headline}
    metrics_std = {c: float(seed_means[c].std(ddof=1)) for c in headline} if len(seeds) > 1 else {}
    frames = []
    for seed, frame in zip(seeds, per_seed, strict=True):
        part = frame[["query", *headline]].copy()
        if len(seeds) > 1:
            part.insert(1, "seed", seed)
        frames.append(part)
    return MethodResult(
        name=name,
        metrics=metrics_mean,
        per_query=pd.concat(frames, ignore_index=True),
        metrics_std=metrics_std,
        per_category=per_category,
        exposure=exposure_counts,
        metrics_at_k=at_k_frame(per_seed),
    )


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


def exposure_summary(topk: np.ndarray, n_items: int, k: int = 10) -> dict[str, float]:
    """Catalogue coverage and Gini of exposure of the top-``k`` lists (via :mod:`recsys.core.metrics`)."""
    lists = [row[:k][row[:k] >= 0].tolist() for row in topk]
    return {
        f"coverage@{k}": metrics.catalogue_coverage(lists, n_items),
        f"gini@{k}": metrics.gini(exposure(topk, n_items, k)),
    }
