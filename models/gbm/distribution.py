"""Content distribution weight: how widely a creator's promotion of a product should be distributed.

A LightGBM regression predicts the promotion's content performance — log(1 + GPM), GMV per 1,000 views, the figure
platforms allocate traffic by — from the creator's engagement, the pair's fit, the product, and the promotion
format. The weight is that prediction's place among the promotions our lists recommend (the top of sampled queries'
lists, set at training by :meth:`DistributionModel.set_reference`): 0.8 means "predicted to convert views into
sales better than 80% of the promotions our lists typically recommend", so within one list it separates the content
worth wider distribution from the ordinary (a reference of all promotions would place nearly every recommended item
near the top and tell a user nothing); 0.5 is a typical recommended promotion. Without a reference set the
validation promotions serve.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from models.gbm.calibration import QuantileMap
from models.gbm.regressor import GBMRegressor

MIN_VIEWS = 100  # promotions with fewer views give no usable GPM


class DistributionModel:
    """Predicted GPM and the distribution weight in [0, 1]. Estimator contract as in scikit-learn."""

    def __init__(
        self,
        n_estimators: int = 400,
        learning_rate: float = 0.05,
        num_leaves: int = 31,
        early_stopping_rounds: int = 50,
        min_data_in_leaf: int = 20,
        seed: int = 0,
        num_threads: int = 0,
    ) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.early_stopping_rounds = early_stopping_rounds
        self.min_data_in_leaf = min_data_in_leaf
        self.seed = seed
        self.num_threads = num_threads

    def fit(
        self,
        X: np.ndarray,
        gpm: np.ndarray,
        feature_names: list[str],
        X_valid: np.ndarray,
        gpm_valid: np.ndarray,
        categorical: list[str] | None = None,
    ) -> DistributionModel:
        """``X``: feature vectors (n, n_features); ``gpm``: realized GMV per 1,000 views."""
        self.regressor_ = GBMRegressor(
            objective="regression",
            n_estimators=self.n_estimators,
            learning_rate=self.learning_rate,
            num_leaves=self.num_leaves,
            early_stopping_rounds=self.early_stopping_rounds,
            min_data_in_leaf=self.min_data_in_leaf,
            seed=self.seed,
            num_threads=self.num_threads,
        ).fit(X, np.log1p(gpm), feature_names, X_valid, np.log1p(gpm_valid), categorical)
        reference = X_valid if len(X_valid) else X
        self.weight_map_ = QuantileMap.fit(self.regressor_.predict(reference))
        return self

    def set_reference(self, X: np.ndarray) -> DistributionModel:
        """Place weights among the predictions for ``X`` of shape (n_pairs, n_features): the pairs lists recommend."""
        if len(X) == 0:
            raise ValueError("the distribution weight needs a non-empty reference set")
        self.weight_map_ = QuantileMap.fit(self.regressor_.predict(X))
        return self

    def predicted_gpm(self, X: np.ndarray, num_threads: int | None = None) -> np.ndarray:
        return np.expm1(np.maximum(self.regressor_.predict(X, num_threads=num_threads), 0.0))

    def gpm_and_weight(self, X: np.ndarray, num_threads: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(predicted GPM, distribution weight) per row from one pass of the trees (a page shows both)."""
        raw = self.regressor_.predict(X, num_threads=num_threads)
        return np.expm1(np.maximum(raw, 0.0)), self.weight_map_.transform(raw)

    def weight(self, X: np.ndarray, num_threads: int | None = None) -> np.ndarray:
        """Distribution weight in [0, 1] per row."""
        return self.weight_map_.transform(self.regressor_.predict(X, num_threads=num_threads))

    def save(self, directory: Path) -> None:
        self.regressor_.save(directory / "distribution.txt")
        (directory / "distribution_weight_map.json").write_text(json.dumps(self.weight_map_.to_list()))

    @classmethod
    def load(cls, directory: Path) -> DistributionModel:
        obj = cls()
        obj.regressor_ = GBMRegressor.load(directory / "distribution.txt")
        obj.weight_map_ = QuantileMap(np.array(json.loads((directory / "distribution_weight_map.json").read_text())))
        return obj
