"""LightGBM LambdaRank over (query, candidate) groups, saved as LightGBM's own text model (no pickle).

:class:`LambdaRanker` is dataset-agnostic: the marketplace matcher and the offline experiments on public data
both use it. Rows of one query must be contiguous; ``group`` gives the size of each query's block.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np

from models.compiled import CompiledTrees
from models.contrib import PathAttribution


class LambdaRanker:
    """LambdaRank gradient-boosted trees with early stopping on a validation split.

    Parameters
    ----------
    num_leaves, learning_rate, n_estimators, min_data_in_leaf : usual LightGBM tree settings.
    early_stopping_rounds : stop when validation NDCG@``eval_at[0]`` has not improved for this many rounds.
    eval_at : cut-offs reported during training.
    num_threads : 0 = all cores.
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
        self.seed = seed

    def _params(self) -> dict[str, object]:
        params: dict[str, object] = {
            "objective": "lambdarank",
            "metric": "ndcg",
            "eval_at": list(self.eval_at),
            "num_leaves": self.num_leaves,
            "learning_rate": self.learning_rate,
            "min_data_in_leaf": self.min_data_in_leaf,
            "feature_fraction": self.feature_fraction,
            "feature_fraction_seed": self.seed,
            "lambdarank_truncation_level": self.lambdarank_truncation_level,
            "num_threads": self.num_threads,
            "seed": self.seed,
            "deterministic": True,
            "force_row_wise": True,
            "verbosity": -1,
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
        if X.shape[1] != len(feature_names):
            raise ValueError(f"X has {X.shape[1]} columns but {len(feature_names)} feature names were given")
        if int(np.sum(group)) != X.shape[0]:
            raise ValueError(f"group sizes sum to {int(np.sum(group))} but X has {X.shape[0]} rows")
        cats = [c for c in (categorical or []) if c in feature_names]
        train = lgb.Dataset(
            X, label=y, group=group, feature_name=feature_names, categorical_feature=cats or "auto", free_raw_data=False
        )
        valid_sets: list[lgb.Dataset] = []
        callbacks: list[Callable[..., Any]] = []
        self.evals_result_: dict[str, dict[str, list[float]]] = {}
        if X_valid is not None and y_valid is not None and group_valid is not None:
            valid_sets = [lgb.Dataset(X_valid, label=y_valid, group=group_valid, reference=train)]
            callbacks = [
                lgb.early_stopping(self.early_stopping_rounds, first_metric_only=True, verbose=False),
                lgb.record_evaluation(self.evals_result_),
            ]
        self.booster_ = lgb.train(
            self._params(),
            train,
            num_boost_round=self.n_estimators,
            valid_sets=valid_sets,
            valid_names=["valid"] if valid_sets else None,
            callbacks=callbacks,
        )
        self.best_iteration_ = int(self.booster_.best_iteration or self.booster_.current_iteration())
        self.feature_names_ = list(feature_names)
        return self

    compiled_: CompiledTrees | None = None  # native code for the request path (see models.compiled)

    def predict(self, X: np.ndarray, num_threads: int | None = None) -> np.ndarray:
        """Scores of shape (n_rows,); higher is better. Only comparable within one model."""
        if self.compiled_ is not None:
            return self.compiled_.predict_raw(X)
        kwargs: dict[str, Any] = {} if num_threads is None else {"num_threads": num_threads}
        out = self.booster_.predict(X, num_iteration=self.best_iteration_, **kwargs)
        return np.asarray(out, dtype=np.float64)

    def contributions(self, X: np.ndarray) -> np.ndarray:
        """Per-feature contributions (SHAP values) of shape (n_rows, n_features + 1); the last column is the bias."""
        out = self.booster_.predict(X, num_iteration=self.best_iteration_, pred_contrib=True)
        return np.asarray(out, dtype=np.float64)

    def explain(self, X: np.ndarray) -> np.ndarray:
        """Fast per-feature contributions (path attributions, see :mod:`models.contrib`), same shape as
        :meth:`contributions`; falls back to exact SHAP when the model has splits path attribution cannot follow."""
        if not hasattr(self, "_paths"):
            try:
                self._paths: PathAttribution | None = PathAttribution.from_booster(self.booster_, self.best_iteration_)
            except ValueError:
                self._paths = None
        if self._paths is None:
            return self.contributions(X)
        return self._paths.contributions(X)

    def feature_importance(self) -> dict[str, float]:
        gains = self.booster_.feature_importance(importance_type="gain", iteration=self.best_iteration_)
        return dict(zip(self.feature_names_, map(float, gains), strict=True))

    def save(self, path: Path) -> None:
        """LightGBM text model at ``path``, with ``<path>.json`` holding the best iteration."""
        self.booster_.save_model(str(path), num_iteration=self.best_iteration_)
        Path(f"{path}.json").write_text(json.dumps({"best_iteration": self.best_iteration_}))

    @classmethod
    def load(cls, path: Path) -> LambdaRanker:
        obj = cls()
        obj.booster_ = lgb.Booster(model_file=str(path))
        obj.best_iteration_ = int(json.loads(Path(f"{path}.json").read_text())["best_iteration"])
        obj.feature_names_ = list(obj.booster_.feature_name())
        return obj
