"""LightGBM pointwise regression (predicted GMV, content performance), saved as LightGBM text (no pickle)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np

from models.compiled import CompiledTrees


class GBMRegressor:
    """Gradient-boosted regression trees with early stopping on a validation split.

    Parameters
    ----------
    objective : LightGBM objective, e.g. "tweedie" (non-negative, heavy-tailed targets such as GMV) or "regression".
    tweedie_variance_power : used by the tweedie objective.
    Other parameters as in :class:`models.ranker.LambdaRanker`.
    """

    def __init__(
        self,
        objective: str = "regression",
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

    def _params(self) -> dict[str, object]:
        params: dict[str, object] = {
            "objective": self.objective,
            "num_leaves": self.num_leaves,
            "learning_rate": self.learning_rate,
            "min_data_in_leaf": self.min_data_in_leaf,
            "feature_fraction": self.feature_fraction,
            "feature_fraction_seed": self.seed,
            "num_threads": self.num_threads,
            "seed": self.seed,
            "deterministic": True,
            "force_row_wise": True,
            "verbosity": -1,
        }
        if self.objective == "tweedie":
            params["tweedie_variance_power"] = self.tweedie_variance_power
        return params

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
        if X.shape[1] != len(feature_names):
            raise ValueError(f"X has {X.shape[1]} columns but {len(feature_names)} feature names were given")
        cats = [c for c in (categorical or []) if c in feature_names]
        train = lgb.Dataset(X, label=y, feature_name=feature_names, categorical_feature=cats or "auto")
        valid_sets: list[lgb.Dataset] = []
        callbacks: list[Callable[..., Any]] = []
        if X_valid is not None and y_valid is not None and len(y_valid):
            valid_sets = [lgb.Dataset(X_valid, label=y_valid, reference=train)]
            callbacks = [lgb.early_stopping(self.early_stopping_rounds, verbose=False)]
        self.booster_ = lgb.train(
            self._params(), train, num_boost_round=self.n_estimators, valid_sets=valid_sets, callbacks=callbacks
        )
        self.best_iteration_ = int(self.booster_.best_iteration or self.booster_.current_iteration())
        self.feature_names_ = list(feature_names)
        return self

    compiled_: CompiledTrees | None = None  # native code for the request path (see models.compiled)

    def predict(self, X: np.ndarray, num_threads: int | None = None) -> np.ndarray:
        """Predictions of shape (n_rows,) on the target's scale."""
        if self.compiled_ is not None:
            raw = self.compiled_.predict_raw(X)
            return np.exp(raw) if self.objective == "tweedie" else raw
        kwargs: dict[str, Any] = {} if num_threads is None else {"num_threads": num_threads}
        return np.asarray(self.booster_.predict(X, num_iteration=self.best_iteration_, **kwargs), dtype=np.float64)

    def save(self, path: Path) -> None:
        self.booster_.save_model(str(path), num_iteration=self.best_iteration_)
        Path(f"{path}.json").write_text(
            json.dumps({"best_iteration": self.best_iteration_, "objective": self.objective})
        )

    @classmethod
    def load(cls, path: Path) -> GBMRegressor:
        meta = json.loads(Path(f"{path}.json").read_text())
        obj = cls(objective=meta["objective"])
        obj.booster_ = lgb.Booster(model_file=str(path))
        obj.best_iteration_ = int(meta["best_iteration"])
        obj.feature_names_ = list(obj.booster_.feature_name())
        return obj
