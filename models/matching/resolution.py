"""Stage: plan resolution — which plan each (creator, product) pair would join, at what rate, or why none.

Resolved once per request: the candidate search resolves the pairs it finds (or :meth:`PlanResolver.resolve` does,
for pairs found through a filter mask), and tier projections for the page re-choose among the same joinable plans
(:meth:`recsys.core.rules.PlanBook.project`) instead of resolving again. Without plan rules (offline diagnostics)
every pair is eligible at the product's best public rate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from features.tables import FeatureTables
from recsys.core.rules import PairResolution, PlanBook


@dataclass(frozen=True)
class Resolved:
    """Plan resolution of aligned pairs, as the matcher uses it (one entry per pair).

    eligible : bool; rate : float64 — the effective rate, or the product's best public rate where not eligible;
    plan_row, plan_type : int64 / int8, -1 without a plan; reason : object — refusal reason code or None.
    """

    eligible: np.ndarray
    rate: np.ndarray
    plan_row: np.ndarray
    plan_type: np.ndarray
    reason: np.ndarray
    rules: PairResolution | None  # the full resolution (None without plan rules)
    products: np.ndarray  # product row per pair (for the fallback rate)

    def take(self, idx: np.ndarray) -> Resolved:
        return Resolved(
            self.eligible[idx],
            self.rate[idx],
            self.plan_row[idx],
            self.plan_type[idx],
            self.reason[idx],
            self.rules.take(idx) if self.rules is not None else None,
            self.products[idx],
        )


class PlanResolver:
    """Resolves pairs under a :class:`PlanBook` whose rows align with ``tables``' id maps (or none)."""

    def __init__(self, planbook: PlanBook | None, tables: FeatureTables) -> None:
        self.planbook = planbook
        self.tables = tables
        self._best_rate = tables.arrays["product_best_rate"]

    def resolve(self, c: np.ndarray, p: np.ndarray, known: PairResolution | None = None) -> Resolved:
        """The pairs' resolution; ``known``: already computed by the candidate search for exactly these pairs."""
        if self.planbook is None:
            n = len(c)
            rate = np.nan_to_num(self._best_rate[p].astype(np.float64))
            return Resolved(
                np.ones(n, bool), rate, np.full(n, -1), np.full(n, -1), np.full(n, None, dtype=object), None, p
            )
        rules = known if known is not None else self.planbook.resolve_pairs(c, p, None, self.tables.pair_orders(c, p))
        return self._from_rules(rules, p)

    def project(self, resolved: Resolved, predicted_units: np.ndarray) -> Resolved:
        """``resolved`` with tiered rates projected from the pairs' predicted units."""
        if self.planbook is None or resolved.rules is None:
            return resolved
        return self._from_rules(self.planbook.project(resolved.rules, predicted_units), resolved.products)

    def _from_rules(self, rules: PairResolution, p: np.ndarray) -> Resolved:
        rate = np.where(rules.eligible, rules.rate, np.nan)
        fallback = self._best_rate[p].astype(np.float64)
        return Resolved(
            rules.eligible,
            np.where(np.isfinite(rate), rate, np.nan_to_num(fallback)),
            rules.plan_row,
            rules.plan_type,
            rules.reason_array(),
            rules,
            p,
        )
