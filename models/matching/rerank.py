"""Stage: reranking — the order a list is shown in, from scored pairs and their outcomes.

- a creator's pool: joinable products by a blend of fit and expected earnings (``rules.earnings_blend``),
  optionally only those paying at least ``min_commission``;
- creators for a product: by the ranker's score;
- shop-level creators: each creator once, with the product it fits best, by fit.
Ties break on the candidate's row, so equal scores always list in the same order.
"""

from __future__ import annotations

import numpy as np

from models.matching.outcomes import Outcomes
from models.matching.scoring import ScoredPairs
from recsys.core.rules import blend_fit_and_earnings

RERANK_DEPTH = 200  # candidates that get GMV predictions and the earnings blend


def by_score(scored: ScoredPairs, depth: int) -> np.ndarray:
    """Positions of the best ``depth`` pairs by the ranker's score."""
    candidates = scored.direction.candidate_rows(scored.c, scored.p)
    return np.lexsort((candidates, -scored.score))[:depth]


def creator_pool(
    scored: ScoredPairs, outcomes: Outcomes, blend: float, min_commission: float | None
) -> tuple[np.ndarray, np.ndarray]:
    """(positions into ``outcomes``, blended score) of a creator's pool, best first, joinable rows only."""
    keep = outcomes.resolved.eligible.copy()
    if min_commission is not None:
        keep &= outcomes.resolved.rate >= min_commission
    blended = blend_fit_and_earnings(scored.fit[outcomes.idx], outcomes.commission, blend)
    order = np.lexsort((scored.p[outcomes.idx], -blended))
    order = order[keep[order]]
    return order, blended


def best_product_per_creator(scored: ScoredPairs) -> np.ndarray:
    """Positions of each creator's best-fitting pair, best creators first (shop-level lists)."""
    by_fit = np.lexsort((scored.p, scored.c, -scored.fit))
    _, first = np.unique(scored.c[by_fit], return_index=True)
    best = by_fit[first]
    return best[np.lexsort((scored.c[best], -scored.fit[best]))]
