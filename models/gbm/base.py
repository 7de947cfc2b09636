"""What every LightGBM estimator here shares: tree settings, training with early stopping, raw scores (LightGBM or
compiled native code), per-feature contributions, and persistence as LightGBM's own text model (no pickle)."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, Self

import lightgbm as lgb
import numpy as np

from models.gbm.compiled import CompiledTrees
from models.gbm.contrib import GroupedAttribution, PathAttribution
from models.gbm.derived import ModelText, NativeLeaves, compiled_text

log = logging.getLogger(__name__)


class BoostedTrees:
    """Base of :class:`models.gbm.ranker.LambdaRanker` and :class:`models.gbm.regressor.GBMRegressor`.

    Subclasses store their settings in ``__init__`` (scikit-learn style), add their objective in ``_params`` and
    call :meth:`_train` from ``fit``. Learned state ends in ``_``: ``booster_``, ``best_iteration_``,
    ``feature_names_``, ``evals_result_``; ``compiled_`` is attached for serving.
    """

    num_leaves: int
    learning_rate: float
    n_estimators: int
    early_stopping_rounds: int
    min_data_in_leaf: int
    feature_fraction: float
    num_threads: int
    seed: int
    compiled_: CompiledTrees | None = None
    native_leaves_: NativeLeaves | None = None  # pred_leaf in native code, attached for serving (models/bundle.py)
    model_file: Path | None = None  # the text model a serving load read, and where models derived from it are
    derived_cache: Path | None = None  # compiled (models.gbm.derived; set by models/bundle.py with compiled_)
    heads_: dict[int, CompiledTrees] | None = None  # compiled first trees, by count (prepare_head)
    paths_cache: Path | None = None  # where the serving load keeps the explanation paths (models/bundle.py)

    def _params(self) -> dict[str, Any]:
        return {
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

    def _meta(self) -> dict[str, Any]:
        """Settings a loaded model needs besides the trees (saved next to them as JSON)."""
        return {}

    def _train(
        self,
        train: lgb.Dataset,
        valid: lgb.Dataset | None,
        feature_names: list[str],
        first_metric_only: bool = False,
    ) -> Self:
        callbacks: list[Callable[..., Any]] = []
        self.evals_result_: dict[str, dict[str, list[float]]] = {}
        if valid is not None:
            callbacks = [
                lgb.early_stopping(self.early_stopping_rounds, first_metric_only=first_metric_only, verbose=False),
                lgb.record_evaluation(self.evals_result_),
            ]
        self.booster_ = lgb.train(
            self._params(),
            train,
            num_boost_round=self.n_estimators,
            valid_sets=[valid] if valid is not None else [],
            valid_names=["valid"] if valid is not None else None,
            callbacks=callbacks,
        )
        self.best_iteration_ = int(self.booster_.best_iteration or self.booster_.current_iteration())
        self.feature_names_ = list(feature_names)
        return self

    @staticmethod
    def _check_columns(X: np.ndarray, feature_names: list[str]) -> None:
        if X.shape[1] != len(feature_names):
            raise ValueError(f"X has {X.shape[1]} columns but {len(feature_names)} feature names were given")

    def raw_scores(self, X: np.ndarray, num_threads: int | None = None) -> np.ndarray:
        """Raw scores of shape (n_rows,): compiled native code when attached, else LightGBM."""
        if self.compiled_ is not None:
            return self.compiled_.predict_raw(X)
        kwargs: dict[str, Any] = {} if num_threads is None else {"num_threads": num_threads}
        out = self.booster_.predict(X, num_iteration=self.best_iteration_, raw_score=True, **kwargs)
        return np.asarray(out, dtype=np.float64)

    @property
    def n_trees(self) -> int:
        """Trees the model predicts with (its best iteration's)."""
        return self.best_iteration_

    def prepare_head(self, n_trees: int) -> None:
        """Compile the model's first ``n_trees`` trees for :meth:`head_scores` (once per machine: kept in the
        derived cache) when the model is served compiled; else :meth:`head_scores` asks LightGBM."""
        if self.compiled_ is None or self.model_file is None or self.derived_cache is None:
            return
        if self.heads_ is None:
            self.heads_ = {}
        if n_trees not in self.heads_:
            try:
                text = ModelText.parse(self.model_file.read_text())
                self.heads_[n_trees] = compiled_text(text.tree_range(0, n_trees), self.derived_cache)
            except Exception as exc:  # the cascade still works, on LightGBM's own predictor
                log.warning("first %d trees of %s not compiled (%s)", n_trees, self.model_file.name, exc)

    def head_scores(self, X: np.ndarray, n_trees: int) -> np.ndarray:
        """Raw scores of the first ``n_trees`` trees only, shape (n_rows,)."""
        head = self.heads_.get(n_trees) if self.heads_ is not None else None
        if head is not None:
            return head.predict_raw(X)
        out = self.booster_.predict(X, num_iteration=n_trees, raw_score=True, num_threads=1)
        return np.asarray(out, dtype=np.float64)

    def contributions(self, X: np.ndarray) -> np.ndarray:
        """Per-feature contributions (SHAP values) of shape (n_rows, n_features + 1); the last column is the bias."""
        out = self.booster_.predict(X, num_iteration=self.best_iteration_, pred_contrib=True)
        return np.asarray(out, dtype=np.float64)

    def prepare_explanations(self) -> None:
        """Index the trees' decision paths for :meth:`explain` (once; later calls do nothing)."""
        if hasattr(self, "_paths"):
            return
        cache = self.paths_cache
        if cache is not None:  # dumping and walking 500 trees took 1.1 s of a 1M-product worker's start
            with contextlib.suppress(OSError, ValueError, KeyError):
                self._paths = PathAttribution.load(cache)
                return
        self._paths = PathAttribution.from_booster(self.booster_, self.best_iteration_)
        if cache is not None:
            with contextlib.suppress(OSError):  # a cache: the paths are used all the same
                self._paths.save(cache)

    def leaves(self, X: np.ndarray) -> np.ndarray:
        """(n_rows, n_trees): the leaf LightGBM reaches in each tree (``pred_leaf``), one thread; through native
        code when attached (:mod:`models.gbm.derived`)."""
        if self.native_leaves_ is not None:
            return self.native_leaves_.predict(X)
        return np.asarray(self.booster_.predict(X, num_iteration=self.best_iteration_, pred_leaf=True, num_threads=1))

    def explain(self, X: np.ndarray) -> np.ndarray:
        """Fast per-feature contributions (path attributions along the leaves LightGBM reaches, see
        :mod:`models.gbm.contrib`), same shape as :meth:`contributions`."""
        self.prepare_explanations()
        return self._paths.contributions(self.leaves(X))

    def grouped_explainer(self, weights: np.ndarray) -> GroupedAttribution:
        """The path attributions summed per group of features (``weights``: (n_features, n_groups)), precomputed
        per leaf: ``grouped_explainer(w).sums(leaves(X))`` equals ``explain(X)[:, :-1] @ w``."""
        self.prepare_explanations()
        return self._paths.grouped(weights)

    def feature_importance(self) -> dict[str, float]:
        gains = self.booster_.feature_importance(importance_type="gain", iteration=self.best_iteration_)
        return dict(zip(self.feature_names_, map(float, gains), strict=True))

    def save(self, path: Path) -> None:
        """LightGBM text model at ``path`` (best iteration only), with ``<path>.json`` for the rest."""
        self.booster_.save_model(str(path), num_iteration=self.best_iteration_)
        Path(f"{path}.json").write_text(json.dumps({"best_iteration": self.best_iteration_, **self._meta()}))

    @classmethod
    def load(cls, path: Path) -> Self:
        meta = json.loads(Path(f"{path}.json").read_text())
        best = int(meta.pop("best_iteration"))
        obj = cls(**meta)
        obj.booster_ = lgb.Booster(model_file=str(path))
        obj.best_iteration_ = best
        obj.feature_names_ = list(obj.booster_.feature_name())
        return obj
