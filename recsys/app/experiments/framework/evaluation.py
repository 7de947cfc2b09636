"""The one evaluation path of the experiments: ranked lists -> per-query metric rows -> a method's summary.

Pure functions over arrays and DataFrames; every metric value comes from :mod:`recsys.core.metrics` (the single
metric implementation). Adapters use these or build their own per-query frames — the runner only needs the frames.

Conventions:

- a ranked list is a row of item indices, best first; ``-1`` pads a list that has fewer items than the cut-off;
- ties in a score are broken by the lower item index (:func:`rank_items`; the full-ranking helpers of
  :mod:`recsys.app.experiments.user_item.fullrank` follow the same order);
- queries with nothing relevant are skipped, because NDCG, recall and MRR are undefined for them;
- with several seeds, a method's figure is the mean over seeds of the per-seed means over queries, and its
  spread the sample standard deviation (ddof=1) of those per-seed means.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Mapping, Sequence

import numpy as np
import pandas as pd

from recsys.app.experiments.framework.base import MethodResult
from recsys.core import metrics

_AT_K = re.compile(r"^(?P<metric>.+)@(?P<k>\d+)$")

AT_K_METRICS: dict[str, Callable[..., float]] = {
    "ndcg": metrics.ndcg_at_k,
    "recall": metrics.recall_at_k,
    "hr": metrics.hit_rate_at_k,
}
"""Metrics of the top ``k`` of a ranked list; ``mrr`` (reciprocal rank within the top ``k``) is handled apart."""

PerQuery = pd.DataFrame | Sequence[pd.DataFrame]


def rank_items(scores: np.ndarray, exclude: np.ndarray | None = None, depth: int | None = None) -> np.ndarray:
    """Item indices in descending score order per query.

    scores : ndarray of shape (n_queries, n_items)
    exclude : optional bool ndarray of the same shape; True items are never ranked first (they get ``-inf``)
    depth : how many items to return per query (default: all). Returns ndarray of shape (n_queries, depth).
    Ties are broken by the lower item index, so the result is deterministic.
    """
    s = np.array(scores, dtype=np.float64, copy=True)
    if exclude is not None:
        if exclude.shape != s.shape:
            raise ValueError(f"exclude has shape {exclude.shape}, scores {s.shape}")
        s[exclude] = -np.inf
    n_items = s.shape[1]
    depth = n_items if depth is None else min(depth, n_items)
    return np.argsort(-s, axis=1, kind="stable")[:, :depth]


def _as_relevant(relevant: metrics.Relevant | np.ndarray) -> metrics.Relevant:
    if isinstance(relevant, np.ndarray):
        return {int(i) for i in relevant.tolist()}
    return relevant


def metric_rows(
    ranked: np.ndarray | Sequence[Sequence[int]],
    relevant: Sequence[metrics.Relevant | np.ndarray],
    query_ids: Sequence[Hashable] | np.ndarray,
    ks: Sequence[int] = (10,),
    names: Sequence[str] = ("recall", "ndcg", "hr", "mrr"),
    *,
    seed: int | None = None,
    full_list_mrr: bool = False,
    target_rank: np.ndarray | None = None,
    map_k: int | None = None,
) -> pd.DataFrame:
    """One row per query with at least one relevant item: ``query``, ``seed`` (if given), then ``<name>@<k>``
    for each k and each name in ``names`` (``ndcg``, ``recall``, ``hr`` = hit rate, ``mrr`` = reciprocal rank of
    the first relevant item within the top k, 0 if none — RecBole's MRR@k).

    ranked : item indices per query, best first (``-1`` = padding, ignored)
    relevant : per query, a set of item indices, a mapping index -> gain (graded), or an index array
    full_list_mrr : add ``mrr``, the reciprocal rank of the first relevant item over the whole ranked list
    target_rank : (leave-one-out) 1-based full-catalogue rank of the single target per query; adds ``mrr`` =
        ``1 / rank`` (0 when the rank is infinite: a masked target)
    map_k : add ``map@<map_k>``, the average precision of the top ``map_k``
    """
    if not (len(ranked) == len(relevant) == len(query_ids)):
        raise ValueError(
            f"ranked ({len(ranked)}), relevant ({len(relevant)}) and query_ids ({len(query_ids)}) differ in length"
        )
    unknown = sorted(set(names) - {*AT_K_METRICS, "mrr"})
    if unknown:
        raise ValueError(f"unknown metric name(s) {unknown}; choose from {[*AT_K_METRICS, 'mrr']}")
    rows = []
    for qi, qid in enumerate(query_ids):
        rel = _as_relevant(relevant[qi])
        if not rel:
            continue
        row_items = np.asarray(ranked[qi])
        items = row_items[row_items >= 0].tolist()
        row: dict[str, object] = {"query": qid}
        if seed is not None:
            row["seed"] = seed
        for k in ks:
            for name in names:
                if name == "mrr":
                    row[f"mrr@{k}"] = metrics.reciprocal_rank(items[:k], rel)
                else:
                    row[f"{name}@{k}"] = AT_K_METRICS[name](items, rel, k)
        if target_rank is not None:
            row["mrr"] = 0.0 if not np.isfinite(target_rank[qi]) else 1.0 / float(target_rank[qi])
        elif full_list_mrr:
            row["mrr"] = metrics.reciprocal_rank(items, rel)
        if map_k is not None:
            row[f"map@{map_k}"] = metrics.average_precision(items, rel, map_k)
        rows.append(row)
    return pd.DataFrame(rows)


def metric_columns(per_query: pd.DataFrame) -> list[str]:
    """The metric columns of a per-query frame (everything but ``query`` and ``seed``)."""
    return [c for c in per_query.columns if c not in ("query", "seed")]


def per_seed_frames(per_query: PerQuery) -> list[pd.DataFrame]:
    """One frame per seed: a list is returned as is; a frame is split on its ``seed`` column (if any)."""
    if not isinstance(per_query, pd.DataFrame):
        return list(per_query)
    if "seed" not in per_query.columns:
        return [per_query]
    return [frame for _, frame in per_query.groupby("seed", sort=True)]


def summarise(per_query: PerQuery, columns: Sequence[str] | None = None) -> tuple[dict[str, float], dict[str, float]]:
    """(metrics, metrics_std) of ``columns`` (default: every metric column).

    ``per_query`` is one frame per seed, or one frame with a ``seed`` column (split on it). ``metrics`` = mean over
    seeds of the per-seed means over queries; ``metrics_std`` = sample standard deviation (ddof=1) of those per-seed
    means with several seeds, empty with one.
    """
    frames = per_seed_frames(per_query)
    if not frames:
        raise ValueError("summarise needs at least one per-query frame")
    cols = list(columns) if columns is not None else metric_columns(frames[0])
    seed_means = pd.DataFrame([frame[cols].mean() for frame in frames])
    means = {c: float(seed_means[c].mean()) for c in cols}
    stds = {c: float(seed_means[c].std(ddof=1)) for c in cols} if len(frames) > 1 else {}
    return means, stds


def metrics_at_k(summary: Mapping[str, float]) -> pd.DataFrame:
    """Long frame (k, metric, value) from summary keys shaped ``name@k``, for the metric-at-k plot."""
    rows = []
    for key, value in summary.items():
        match = _AT_K.match(key)
        if match:
            rows.append({"k": int(match["k"]), "metric": match["metric"], "value": float(value)})
    frame = pd.DataFrame(rows, columns=["k", "metric", "value"])
    return frame.sort_values(["metric", "k"], ignore_index=True)


def method_result(
    name: str,
    per_seed: Sequence[pd.DataFrame],
    headline: Sequence[str],
    seeds: Sequence[int],
    exposure_counts: np.ndarray | None = None,
    per_category: pd.DataFrame | None = None,
) -> MethodResult:
    """A :class:`MethodResult` from one per-query frame per seed (frames without a ``seed`` column).

    ``metrics`` / ``metrics_std`` = :func:`summarise` of the ``headline`` columns; ``per_query`` keeps the
    headline columns (plus ``seed`` with several seeds); ``metrics_at_k`` covers every ``<metric>@<k>`` column.
    """
    if len(per_seed) != len(seeds):
        raise ValueError(f"{len(per_seed)} per-query frames for {len(seeds)} seeds")
    means, stds = summarise(per_seed, headline)
    frames = []
    for seed, frame in zip(seeds, per_seed, strict=True):
        part = frame[["query", *headline]].copy()
        if len(seeds) > 1:
            part.insert(1, "seed", seed)
        frames.append(part)
    at_k_columns = [c for c in metric_columns(per_seed[0]) if _AT_K.match(str(c))]
    return MethodResult(
        name=name,
        metrics=means,
        per_query=pd.concat(frames, ignore_index=True),
        metrics_std=stds,
        per_category=per_category,
        exposure=exposure_counts,
        metrics_at_k=metrics_at_k(summarise(per_seed, at_k_columns)[0]),
    )


def exposure(topk: np.ndarray, n_items: int, k: int = 10) -> np.ndarray:
    """How many top-``k`` lists each item appears in; int64 array of shape (n_items,)."""
    items = topk[:, :k]
    return np.bincount(items[items >= 0], minlength=n_items).astype(np.int64)


def list_metrics(
    topk: np.ndarray, n_items: int, k: int = 10, head_items: set[Hashable] | None = None
) -> tuple[dict[str, float], np.ndarray]:
    """Catalogue-level metrics of the top-``k`` lists (rows of item indices, ``-1`` padded): ``coverage@k``,
    ``gini@k`` (of exposure) and, given the popular ``head_items``, ``long_tail@k`` (share of slots given to the
    other items). Returns them and the exposure count per item (:func:`exposure`)."""
    lists = [row[:k][row[:k] >= 0].tolist() for row in topk]
    counts = exposure(topk, n_items, k)
    values = {f"coverage@{k}": metrics.catalogue_coverage(lists, n_items), f"gini@{k}": metrics.gini(counts)}
    if head_items is not None:
        values[f"long_tail@{k}"] = metrics.long_tail_share(lists, head_items)
    return values, counts
