"""Per-brand metrics of score matrices and their aggregation over folds into a :class:`MethodResult`.

R@k = share of the brand's positives in the top k; MRR and MedR from the best-ranked positive; AUC over the
brand's (positive, negative) pairs. The summary is the mean over folds of the per-fold means (MedR: the mean
over folds of the per-fold median first-relevant rank), with the standard deviation across folds.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from recsys.app.experiments.framework.base import MethodResult
from recsys.app.experiments.framework.evaluation import metrics_at_k, rank_items
from recsys.core import metrics

KS: tuple[int, ...] = (1, 5, 10, 20, 50, 100)
SUMMARY: tuple[str, ...] = ("r@10", "r@50", "mrr", "medr", "auc")
EXPOSURE_K = 10


def brand_metrics(scores: np.ndarray, relevant: np.ndarray, brand_ids: Sequence[str]) -> pd.DataFrame:
    """One row per brand with a positive: query, r@k for k in KS, mrr, auc, first_relevant_rank.

    scores : (n_brands, n_creators); relevant : bool of the same shape. Ties rank the lower column first.
    """
    if scores.shape != relevant.shape:
        raise ValueError(f"scores {scores.shape} and relevant {relevant.shape} differ in shape")
    ranked = rank_items(scores)
    rows = []
    for i, brand in enumerate(brand_ids):
        rel = set(np.flatnonzero(relevant[i]).tolist())
        if not rel:
            continue
        items = ranked[i].tolist()
        row: dict[str, object] = {"query": brand}
        for k in KS:
            row[f"r@{k}"] = metrics.recall_at_k(items, rel, k)
        row["mrr"] = metrics.reciprocal_rank(items, rel)
        finite = np.isfinite(scores[i])
        row["auc"] = metrics.auc(scores[i][finite], relevant[i][finite])
        row["first_relevant_rank"] = metrics.first_relevant_rank(items, rel)
        rows.append(row)
    return pd.DataFrame(rows)


def fold_summary(per_brand: pd.DataFrame) -> dict[str, float]:
    """Means of one fold's brands (MedR = median of first_relevant_rank)."""
    out = {c: float(per_brand[c].mean()) for c in per_brand.columns if c not in ("query", "first_relevant_rank")}
    out["medr"] = float(per_brand["first_relevant_rank"].median())
    return out


class MethodAccumulator:
    """Collects one method's per-fold results and builds its MethodResult."""

    def __init__(self, name: str, n_creators: int) -> None:
        self.name = name
        self.frames: list[pd.DataFrame] = []
        self.exposure = np.zeros(n_creators, dtype=np.int64)

    def add_fold(
        self,
        scores: np.ndarray,
        relevant: np.ndarray,
        brand_ids: Sequence[str],
        categories: Sequence[str],
        pool: np.ndarray,
    ) -> pd.DataFrame:
        """Score one fold: ``pool`` gives the creator row (catalogue position) of each score column."""
        frame = brand_metrics(scores, relevant, brand_ids)
        frame["category"] = pd.Series(categories, index=list(brand_ids)).loc[frame["query"]].to_numpy()
        top = rank_items(scores, depth=EXPOSURE_K)
        np.add.at(self.exposure, pool[top.ravel()], 1)
        self.frames.append(frame)
        return frame

    def result(self) -> MethodResult:
        per_fold = pd.DataFrame([fold_summary(f.drop(columns="category")) for f in self.frames])
        means = {c: float(per_fold[c].mean()) for c in per_fold.columns}
        stds = {c: float(per_fold[c].std(ddof=1)) for c in per_fold.columns} if len(per_fold) > 1 else {}
        lists = {
            f"coverage@{EXPOSURE_K}": float(np.mean(self.exposure > 0)),
            f"gini@{EXPOSURE_K}": metrics.gini(self.exposure),
        }
        means.update(lists)
        everything = pd.concat(self.frames, ignore_index=True)
        cols = [*(f"r@{k}" for k in KS), "mrr", "auc"]
        by_cat = everything.groupby("category")[cols].mean()
        by_cat["medr"] = everything.groupby("category")["first_relevant_rank"].median()
        by_cat["n_queries"] = everything.groupby("category").size()
        return MethodResult(
            name=self.name,
            metrics=means,
            metrics_std=stds,
            per_query=everything.drop(columns="category"),
            per_category=by_cat.reset_index(),
            exposure=self.exposure.copy(),
            metrics_at_k=metrics_at_k({f"r@{k}": means[f"r@{k}"] for k in KS}),
        )
