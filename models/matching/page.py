"""Stage: explanation — what only the rows of a returned page need: the content distribution weight and the
reasons (typed, exact and varied over the page: :mod:`models.matching.explain`, from the ranker's per-feature
contributions along each row's decision paths)."""

from __future__ import annotations

import numpy as np

from models.engine import Engine
from models.matching.explain import Reason, ReasonExplainer, Selection
from models.matching.scoring import ScoredPairs
from recsys.core.vocab import DIRECTIONS


class PageExplainer:
    def __init__(self, engine: Engine, num_threads: int = 1, selection: Selection = Selection()) -> None:
        self.engine = engine
        self.num_threads = num_threads
        self.reasons = {d: ReasonExplainer(engine.tables, d, selection) for d in DIRECTIONS}
        # each reason's evidence summed per leaf once here, not by the first request (the paths: ~150 ms at 1M): a
        # page then gathers n_specs values per (row, tree) instead of building the per-feature contributions
        self.evidence = {d: engine.rankers[d].grouped_explainer(self.reasons[d].weights) for d in DIRECTIONS}

    def explain(
        self, scored: ScoredPairs, idx: np.ndarray, rate: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, list[list[Reason]]]:
        """(distribution weight, predicted GPM, reasons) for rows ``idx`` of ``scored``, a page in its order;
        ``rate``: the commission rate each row shows (default: the plan rate it was scored with)."""
        X = scored.X[idx]
        gpm, weight = self.engine.distribution.gpm_and_weight(X, num_threads=self.num_threads)
        d = scored.direction
        evidence = self.evidence[d].sums(self.engine.rankers[d].leaves(X))
        shown_rate = scored.resolved.rate[idx] if rate is None else rate
        reasons = self.reasons[d].explain_evidence(evidence, scored.c[idx], scored.p[idx], shown_rate)
        return weight, gpm, reasons
