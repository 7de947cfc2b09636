"""One set of tree settings for every LightGBM model (rankers, GMV regressor, distribution model)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from recsys.core.config import RankerSettings


@dataclass(frozen=True)
class GBMConfig:
    """The tree settings shared by every LightGBM estimator here; ``kwargs()`` passes them to a constructor."""

    num_leaves: int = 31
    learning_rate: float = 0.05
    n_estimators: int = 600
    early_stopping_rounds: int = 50
    min_data_in_leaf: int = 20
    num_threads: int = 0
    seed: int = 0

    @classmethod
    def from_settings(cls, ranker: RankerSettings, seed: int) -> GBMConfig:
        """The ``[ranker]`` settings (which apply to all models) with a training seed."""
        return cls(
            num_leaves=ranker.num_leaves,
            learning_rate=ranker.learning_rate,
            n_estimators=ranker.n_estimators,
            early_stopping_rounds=ranker.early_stopping_rounds,
            min_data_in_leaf=ranker.min_data_in_leaf,
            num_threads=ranker.num_threads,
            seed=seed,
        )

    @classmethod
    def for_gmv(cls, ranker: RankerSettings, seed: int) -> GBMConfig:
        """The GMV model's settings: the ``[ranker]`` ones with its own leaves (``gmv_num_leaves``,
        ``gmv_min_data_in_leaf``)."""
        return replace(
            cls.from_settings(ranker, seed),
            num_leaves=ranker.gmv_num_leaves,
            min_data_in_leaf=ranker.gmv_min_data_in_leaf,
        )

    def kwargs(self) -> dict[str, Any]:
        return asdict(self)
