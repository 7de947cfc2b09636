"""Stage: explanation — what only the rows of a returned page need: the content distribution weight and the
reasons (the ranker's per-feature contributions along each row's decision paths, in words)."""

from __future__ import annotations

import numpy as np

from models.engine import Engine
from models.matching.explain import Reason, top_reasons
from models.matching.scoring import ScoredPairs


class PageExplainer:
    def __init__(self, engine: Engine, num_threads: int = 1) -> None:
        self.engine = engine
        self.num_threads = num_threads
        for ranker in engine.rankers.values():  # built once here, not by the first request (~150 ms at 1M)
            ranker.prepare_explanations()

    def explain(self, scored: ScoredPairs, idx: np.ndarray) -> tuple[np.ndarray, list[list[Reason]]]:
        """(distribution weight, reasons) for rows ``idx`` of ``scored``."""
        X = scored.X[idx]
        weight = self.engine.distribution.weight(X, num_threads=self.num_threads)
        contributions = self.engine.rankers[scored.direction].explain(X)
        return weight, top_reasons(contributions, X, self.engine.tables.feature_names)
