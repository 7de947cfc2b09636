"""LightGBM pointwise regression (predicted GMV, content performance), saved as LightGBM text (no pickle)."""

from __future__ import annotations

from typing import Any, Literal

import lightgbm as lgb
import numpy as np

from models.gbm.base import BoostedTrees

RegressionObjective = Literal["regression", "tweedie"]
"""LightGBM objectives the regressor supports (``predict`` returns the target's scale for each)."""


class GBMRegressor(BoostedTrees):
    """Gradient-boosted regression trees with early stopping on a validation split.

    Parameters
    ----------
    objective : LightGBM objective, e.g. "tweedie" (non-negative, heavy-tailed targets such as GMV) or "regression".
    tweedie_variance_power : used by the tweedie objective.
    Other parameters as in :class:`models.gbm.ranker.LambdaRanker`.
    """

    def __init__(
        self,
        objective: RegressionObjective = "regression",
        tweedie_variance_power: float = 1.5,
        num_leaves: int = 31,
        learning_rate: float = 0.05,
        n_estimators: int = 600,
        early_stopping_rounds: int = 50,
        min_data_in_leaf: int = 20,
        feature_fraction: float = 0.9,
        num_threads: int = 0,
        seed: int = 0,
    ) -> None:
        self.objective = objective
        self.tweedie_variance_power = tweedie_variance_power
        self.num_leaves = num_leaves
        self.learning_rate = learning_rate
        self.n_estimators = n_estimators
        self.early_stopping_rounds = early_stopping_rounds
        self.min_data_in_leaf = min_data_in_leaf
        self.feature_fraction = feature_fraction
        self.num_threads = num_threads
        self.seed = seed

    def _params(self) -> dict[str, Any]:
        params = {**super()._params(), "objective": self.objective}
        if self.objective == "tweedie":
            params["tweedie_variance_power"] = self.tweedie_variance_power
        return params

    def _meta(self) -> dict[str, Any]:
        return {"objective": self.objective}

    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        feature_names: list[str],
        X_valid: np.ndarray | None = None,
        y_valid: np.ndarray | None = None,
        categorical: list[str] | None = None,
    ) -> GBMRegressor:
        """Train on ``X`` of shape (n_rows, n_features) and targets ``y`` of shape (n_rows,)."""
        self._check_columns(X, feature_names)
        cats = [c for c in (categorical or []) if c in feature_names]
        train = lgb.Dataset(X, label=y, feature_name=feature_names, categorical_feature=cats or "auto")
        valid = None
        if X_valid is not None and y_valid is not None and len(y_valid):
            valid = lgb.Dataset(X_valid, label=y_valid, reference=train)
        return self._train(train, valid, feature_names)

    def predict(self, X: np.ndarray, num_threads: int | None = None) -> np.ndarray:
        """Predictions of shape (n_rows,) on the target's scale (tweedie: the exponential of the raw score)."""
        raw = self.raw_scores(X, num_threads)
        return np.exp(raw) if self.objective == "tweedie" else raw
