"""The trained engine: every fitted part the matcher needs, in one object.

``models.training.train.train_engine`` fits it; ``models.bundle`` writes and reads it; ``models.matching`` serves
from it. It lives apart from the training code so that serving never imports training.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from features.tables import FeatureTables
from models.gbm.calibration import QuantileMap
from models.gbm.distribution import DistributionModel
from models.gbm.gmv_calibration import GMVCalibrator
from models.gbm.ranker import LambdaRanker
from models.gbm.regressor import GBMRegressor
from models.integrity.fake_engagement import EngagementFlags
from models.retrieval.retriever import Retriever
from recsys.core.vocab import Direction


@dataclass
class Engine:
    """Everything the matcher needs, fitted."""

    tables: FeatureTables  # features as of the data's now (serving)
    rankers: dict[Direction, LambdaRanker]  # the same object twice in shared mode
    gmv: GBMRegressor
    distribution: DistributionModel
    fit_maps: dict[Direction, QuantileMap]
    retriever: Retriever
    metrics: dict[str, Any] = field(default_factory=dict)
    gmv_calibration: GMVCalibrator | None = None  # raw GMV -> calibrated GMV of a new collaboration, with interval
    engagement: EngagementFlags | None = None  # creators whose engagement looks bought (scores, flags)
