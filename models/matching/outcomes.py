"""Stage: outcomes — the money figures of a new collaboration, per pair.

Predicted GMV is the GMV model's output calibrated on held-out new collaborations (:mod:`models.gbm.gmv_calibration`):
the expected GMV of the promotions the collaboration starts in its first ``horizon_days`` (30 by default), with an
80% interval. From it, with the plan rules: expected units (orders), the tier-projected commission rate, the
expected commission (the creator's earnings, the merchant's cost) with the same interval, the sample cost of a new
collaboration (one sample; an existing partner already has it) and the merchant's expected ROI including samples.

Computed for the rows a list can show (the rerank depth), not for every candidate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from models.engine import Engine
from models.gbm.gmv_calibration import CalibratedGMV
from models.matching.catalog import Catalog
from models.matching.resolution import PlanResolver, Resolved
from models.matching.scoring import ScoredPairs
from recsys.core.rules import expected_commission, merchant_roi_array


@dataclass(frozen=True)
class Outcomes:
    """Per row of a :class:`ScoredPairs` subset ``idx``: money figures and the projected plan resolution."""

    idx: np.ndarray
    gmv: np.ndarray  # calibrated expected GMV over the horizon
    gmv_low: np.ndarray  # its 80% interval
    gmv_high: np.ndarray
    units: np.ndarray  # expected units (orders): GMV / price
    commission: np.ndarray  # expected commission: the creator's earnings, the merchant's commission cost
    commission_low: np.ndarray
    commission_high: np.ndarray
    sample_cost: np.ndarray  # what the collaboration's sample costs the merchant (0 for an existing partner)
    roi: np.ndarray  # expected GMV / (expected commission + sample cost); NaN when the cost is 0
    resolved: Resolved

    def take(self, pick: np.ndarray) -> Outcomes:
        return Outcomes(
            self.idx[pick],
            self.gmv[pick],
            self.gmv_low[pick],
            self.gmv_high[pick],
            self.units[pick],
            self.commission[pick],
            self.commission_low[pick],
            self.commission_high[pick],
            self.sample_cost[pick],
            self.roi[pick],
            self.resolved.take(pick),
        )


def sample_costs(stated: np.ndarray | None, price: np.ndarray, share: float, shipping: float) -> np.ndarray:
    """Per product: the stated sample cost, else ``share`` x price + ``shipping`` (a product without a price: the
    shipping alone)."""
    price = np.nan_to_num(np.asarray(price, dtype=np.float64), nan=0.0)
    default = share * price + shipping
    if stated is None:
        return default
    stated = np.asarray(stated, dtype=np.float64)
    return np.where(np.isfinite(stated), stated, default)


class OutcomePredictor:
    """The calibrated GMV model, the commission rules and the sample policy, applied to scored pairs.

    ``sample_cost``: per product row, what one sample costs the merchant (see :func:`sample_costs`).
    ``existing``: a function telling which pairs already collaborated (they need no sample).
    """

    def __init__(
        self,
        engine: Engine,
        catalog: Catalog,
        resolver: PlanResolver,
        sample_cost: np.ndarray,
        existing: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
        num_threads: int = 1,
    ) -> None:
        self.engine = engine
        self.catalog = catalog
        self.resolver = resolver
        self.sample_cost = np.asarray(sample_cost, dtype=np.float64)
        self.existing = existing
        self.num_threads = num_threads
        tables = engine.tables
        refund = tables.arrays.get("product_refund_rate_90d")  # a bundle before it: the table's column
        if refund is None:
            refund = tables.product[:, tables.product_names.index("p_refund_rate_90d")]
        refund = np.asarray(refund, dtype=np.float64)
        self._refund = np.where(np.isfinite(refund), refund, np.nanmean(refund) if np.isfinite(refund).any() else 0.0)

    def calibrated(self, X: np.ndarray) -> CalibratedGMV:
        raw = np.maximum(self.engine.gmv.predict(X, num_threads=self.num_threads), 0.0)
        calibration = self.engine.gmv_calibration
        if calibration is None:  # an engine assembled by hand (tests of other stages): raw values, no interval
            return CalibratedGMV(raw, raw, raw)
        return calibration.predict(raw)

    def predict(self, scored: ScoredPairs, idx: np.ndarray) -> Outcomes:
        money = self.calibrated(scored.X[idx])
        c, p = scored.c[idx], scored.p[idx]
        units = money.expected / np.maximum(self.catalog.product_price[p], 1e-9)
        resolved = self.resolver.project(scored.resolved.take(idx), units)
        refund = self._refund[p]

        def commission(gmv: np.ndarray) -> np.ndarray:
            return np.asarray(expected_commission(gmv, resolved.rate, refund))

        expected = commission(money.expected)
        existing = self.existing(c, p) if self.existing is not None else np.zeros(len(idx), bool)
        samples = np.where(existing, 0.0, self.sample_cost[p])
        return Outcomes(
            idx,
            money.expected,
            money.low,
            money.high,
            units,
            expected,
            commission(money.low),
            commission(money.high),
            samples,
            merchant_roi_array(money.expected, expected + samples),
            resolved,
        )
