"""LightGBM LambdaRank over (query, candidate) groups, saved as LightGBM's own text model (no pickle).

:class:`LambdaRanker` is dataset-agnostic: the marketplace matcher and the offline experiments on public data
both use it. Rows of one query must be contiguous; ``group`` gives the size of each query's block.
"""

from __future__ import annotations

from typing import Any

import lightgbm as lgb
import numpy as np

from models.gbm.base import BoostedTrees


class LambdaRanker(BoostedTrees):
    """LambdaRank gradient-boosted trees with early stopping on a validation split.

    Parameters
    ----------
    num_leaves, learning_rate, n_estimators, min_data_in_leaf : usual LightGBM tree settings.
    early_stopping_rounds : stop when validation NDCG@``eval_at[0]`` has not improved for this many rounds.
    eval_at : cut-offs reported during training.
    label_gain : the gain of each integer relevance grade (default LightGBM's 2^g - 1).
    num_threads : 0 = all cores.
    objective : "lambdarank" or "rank_xendcg" (LightGBM's listwise cross-entropy; ignores the truncation level).
    seed : seeds bagging and feature sampling; training is deterministic for a seed.
    """

    def __init__(
        self,
        num_leaves: int = 31,
        learning_rate: float = 0.05,
        n_estimators: int = 600,
        early_stopping_rounds: int = 50,
        min_data_in_leaf: int = 20,
        eval_at: tuple[int, ...] = (10,),
        feature_fraction: float = 0.9,
        lambdarank_truncation_level: int = 30,
        label_gain: list[float] | None = None,
        num_threads: int = 0,
        objective: str = "lambdarank",
        seed: int = 0,
    ) -> None:
        self.num_leaves = num_leaves
        self.learning_rate = learning_rate
        self.n_estimators = n_estimators
        self.early_stopping_rounds = early_stopping_rounds
        self.min_data_in_leaf = min_data_in_leaf
        self.eval_at = eval_at
        self.feature_fraction = feature_fraction
        self.lambdarank_truncation_level = lambdarank_truncation_level
        self.label_gain = label_gain
        self.num_threads = num_threads
        self.objective = objective
        self.seed = seed

    def _params(self) -> dict[str, Any]:
        params = {
            **super()._params(),
            "objective": self.objective,
            "metric": "ndcg",
            "eval_at": list(self.eval_at),
            "lambdarank_truncation_level": self.lambdarank_truncation_level,
        }
        if self.label_gain is not None:
            params["label_gain"] = list(self.label_gain)
        return params

    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        group: np.ndarray,
        feature_names: list[str],
        X_valid: np.ndarray | None = None,
        y_valid: np.ndarray | None = None,
        group_valid: np.ndarray | None = None,
        categorical: list[str] | None = None,
    ) -> LambdaRanker:
        """Train on ``X`` of shape (n_rows, n_features) with integer grades ``y`` and query sizes ``group``."""
        self._check_columns(X, feature_names)
        if int(np.sum(group)) != X.shape[0]:
            raise ValueError(f"group sizes sum to {int(np.sum(group))} but X has {X.shape[0]} rows")
        cats = [c for c in (categorical or []) if c in feature_names]
        train = lgb.Dataset(
            X, label=y, group=group, feature_name=feature_names, categorical_feature=cats or "auto", free_raw_data=False
        )
        valid = None
        if X_valid is not None and y_valid is not None and group_valid is not None:
            valid = lgb.Dataset(X_valid, label=y_valid, group=group_valid, reference=train)
        return self._train(train, valid, feature_names, first_metric_only=True)

    def predict(self, X: np.ndarray, num_threads: int | None = None) -> np.ndarray:
        """Scores of shape (n_rows,); higher is better. Only comparable within one model."""
        return self.raw_scores(X, num_threads)
