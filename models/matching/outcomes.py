"""Stage: outcomes — predicted GMV and units, the tier-projected rate, expected commission and the merchant's ROI.

Computed for the rows a list can show (the rerank depth), not for every candidate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.engine import Engine
from models.matching.catalog import Catalog
from models.matching.resolution import PlanResolver, Resolved
from models.matching.scoring import ScoredPairs
from recsys.core.rules import expected_commission, merchant_roi_array


@dataclass(frozen=True)
class Outcomes:
    """Per row of a :class:`ScoredPairs` subset ``idx``: money figures and the projected plan resolution."""

    idx: np.ndarray
    gmv: np.ndarray
    units: np.ndarray
    commission: np.ndarray
    roi: np.ndarray
    resolved: Resolved

    def take(self, pick: np.ndarray) -> Outcomes:
        return Outcomes(
            self.idx[pick],
            self.gmv[pick],
            self.units[pick],
            self.commission[pick],
            self.roi[pick],
            self.resolved.take(pick),
        )


class OutcomePredictor:
    """The GMV model and the commission rules, applied to scored pairs."""

    def __init__(self, engine: Engine, catalog: Catalog, resolver: PlanResolver, num_threads: int = 1) -> None:
        self.engine = engine
        self.catalog = catalog
        self.resolver = resolver
        self.num_threads = num_threads
        tables = engine.tables
        refund = tables.product[:, tables.product_names.index("p_refund_rate_90d")].astype(np.float64)
        self._refund = np.where(np.isfinite(refund), refund, np.nanmean(refund) if np.isfinite(refund).any() else 0.0)

    def predict(self, scored: ScoredPairs, idx: np.ndarray) -> Outcomes:
        gmv = np.maximum(self.engine.gmv.predict(scored.X[idx], num_threads=self.num_threads), 0.0)
        p = scored.p[idx]
        units = gmv / np.maximum(self.catalog.product_price[p], 1e-9)
        resolved = self.resolver.project(scored.resolved.take(idx), units)
        commission = np.asarray(expected_commission(gmv, resolved.rate, self._refund[p]))
        return Outcomes(idx, gmv, units, commission, merchant_roi_array(gmv, commission), resolved)
