"""Helpers that turn a score matrix into the per-query frames and summaries of an ``ExperimentResult``.

Pure functions over arrays and DataFrames; the metric definitions themselves live in :mod:`recsys.core.metrics`.
Adapters may use these or compute their own per-query frames — the runner only needs the frames.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Mapping, Sequence

import numpy as np
import pandas as pd

from recsys.core import metrics

_AT_K = re.compile(r"^(?P<metric>.+)@(?P<k>\d+)$")


def rank_items(scores: np.ndarray, exclude: np.ndarray | None = None, depth: int | None = None) -> np.ndarray:
    """Item indices in descending score order per query.

    scores : ndarray of shape (n_queries, n_items)
    exclude : optional bool ndarray of the same shape; True items are never ranked (e.g. training items)
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
    order = np.argsort(-s, axis=1, kind="stable")[:, :depth]
    return order


def per_query_metrics(
    ranked: Sequence[Sequence[Hashable]] | np.ndarray,
    relevant: Sequence[metrics.Relevant],
    query_ids: Sequence[Hashable],
    ks: Sequence[int] = (10,),
    seed: int | None = None,
    map_k: int | None = 10,
) -> pd.DataFrame:
    """One row per query that has at least one relevant item: ``ndcg@k``, ``recall@k``, ``hr@k`` for each k,
    ``mrr`` (over the whole ranked list) and ``map@{map_k}``. Queries with nothing relevant are skipped,
    because those metrics are undefined for them.
    """
    if not (len(ranked) == len(relevant) == len(query_ids)):
        raise ValueError(
            f"ranked ({len(ranked)}), relevant ({len(relevant)}) and query_ids ({len(query_ids)}) differ in length"
        )
    rows = []
    for qid, lst, rel in zip(query_ids, ranked, relevant, strict=True):
        if not rel:
            continue
        items = list(lst)
        row: dict[str, object] = {"query": qid}
        if seed is not None:
            row["seed"] = seed
        for k in ks:
            row[f"ndcg@{k}"] = metrics.ndcg_at_k(items, rel, k)
            row[f"recall@{k}"] = metrics.recall_at_k(items, rel, k)
            row[f"hr@{k}"] = metrics.hit_rate_at_k(items, rel, k)
        row["mrr"] = metrics.reciprocal_rank(items, rel)
        if map_k is not None:
            row[f"map@{map_k}"] = metrics.average_precision(items, rel, map_k)
        rows.append(row)
    return pd.DataFrame(rows)


def metric_columns(per_query: pd.DataFrame) -> list[str]:
    """The metric columns of a per-query frame (everything but ``query`` and ``seed``)."""
    return [c for c in per_query.columns if c not in ("query", "seed")]


def summarise(per_query: pd.DataFrame) -> tuple[dict[str, float], dict[str, float]]:
    """(metrics, metrics_std): with a ``seed`` column, the mean of per-seed means and their sample standard
    deviation (ddof=1) across seeds; without one (or with one seed), plain means and an empty std dict."""
    cols = metric_columns(per_query)
    if "seed" not in per_query.columns or per_query["seed"].nunique() < 2:
        return {c: float(per_query[c].mean()) for c in cols}, {}
    per_seed = per_query.groupby("seed")[cols].mean()
    return (
        {c: float(per_seed[c].mean()) for c in cols},
        {c: float(per_seed[c].std(ddof=1)) for c in cols},
    )


def metrics_at_k(summary: Mapping[str, float]) -> pd.DataFrame:
    """Long frame (k, metric, value) from summary keys shaped ``name@k``, for the metric-at-k plot."""
    rows = []
    for key, value in summary.items():
        match = _AT_K.match(key)
        if match:
            rows.append({"k": int(match["k"]), "metric": match["metric"], "value": float(value)})
    frame = pd.DataFrame(rows, columns=["k", "metric", "value"])
    return frame.sort_values(["metric", "k"], ignore_index=True)


def list_metrics(
    top_lists: Sequence[Sequence[Hashable]], catalogue: Sequence[Hashable], k: int, head_items: set[Hashable]
) -> tuple[dict[str, float], np.ndarray]:
    """Catalogue-level metrics of top-``k`` lists: ``coverage@k``, ``gini@k`` (of exposure), ``long_tail@k``
    (share of slots given to non-head items); returns them and the exposure count per catalogue item."""
    cut = [list(lst)[:k] for lst in top_lists]
    exposure = metrics.exposure_counts(cut, catalogue)
    values = {
        f"coverage@{k}": metrics.catalogue_coverage(cut, len(catalogue)),
        f"gini@{k}": metrics.gini(exposure),
        f"long_tail@{k}": metrics.long_tail_share(cut, head_items),
    }
    return values, exposure
