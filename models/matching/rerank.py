"""Stage: reranking — the order a list is shown in, from scored pairs, their outcomes and the market.

Every list is ordered by a pair's *capacity-aware value*: predicted GMV minus the capacity prices of the creator
and the product from the global allocation (:class:`~.market.CapacityPrices`; the pair's reduced cost), scaled by
the exposure controls of the creator — a boost for new and small creators, a decay for creators already in many
lists this period, and its room: the share of its capacity still free this period:

    net   = predicted_gmv − price_c − price_p
    m_c   = (1 + new_creator_boost · new_c) · (1 + lists_c / mean lists)^−exposure_decay
            · max(left_c / capacity_c, 0.05)^capacity_room
    value = net · m_c  if net ≥ 0,  net / m_c  otherwise      (m_c < 1 always moves a creator down)

``m_c`` also carries the pair's retrieval affinity, ``exp(retrieval_blend · z)`` with ``z`` the retrieval score
standardised over all candidates of the query — all creators for a product, all products for a creator
(:class:`.scoring.RetrievalAffinity`): with no prices or controls the order is then ``log GMV + blend · z``, a blend of
two estimates of the same order — the GMV model's, fitted on logged pairs, and the retrieval's linear one, distilled
from the ranker over the whole catalogue — that tracks true GMV on the full catalogue better than either alone
(docs/matching.md).

- creators for a product: by value;
- shop-level creators: each creator once with its best product, by value;
- a merchant may reorder either creator list by expected GMV or expected ROI (``sort=``, :func:`sorted_by`);
- a creator's pool: joinable products by a blend of value and expected earnings (``rules.earnings_blend``), each
  product after the first of its category discounted by ``(1 − category_diversity)`` per earlier one.
Ties break on the candidate's row, so equal values always list in the same order.

A list is reranked in blocks (:func:`in_blocks`): the candidates in the ranker's order, cut into consecutive blocks
of :data:`RERANK_DEPTH` (a sorted merchant list: one block, the whole list), each block reranked on its own. An
item's place then depends only on its block, so page n + 1 continues page n exactly, to the end of the list, and a
page needs outcomes only for the blocks it touches (:func:`page_blocks`). Filters act before (on the candidates),
``matching.full_creators = "hide"`` too: a creator with no room left is not in the candidates, so no block holds it.

``matching.full_creators = "displace"`` changes the room factor of creators with no room left, in creator lists,
where the market state knows their floors (:func:`.market.displacement_floor`: the expected earnings of the weakest
pending invitation within their room). An offer whose expected earnings (the creator's expected commission, what it
chooses on) beat the floor would displace a worse pending one: the room factor is then the creator's room with its
pending invitations not counted. An offer at or below the floor would only be declined: it is *sunk* — its value
x :data:`SUNK` (÷ when negative), below every other creator of its block — not removed, so blocks and pages stay
those of the candidates. Without floors (the service) full creators keep ``"keep"``'s room factor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from models.matching.market import CapacityPrices, MarketState
from models.matching.outcomes import Outcomes
from models.matching.scoring import ScoredPairs
from recsys.core.config import MatchingSettings
from recsys.core.rules import blend_fit_and_earnings
from recsys.core.vocab import CreatorSort

RERANK_DEPTH = 200  # candidates that get GMV predictions and the capacity-aware value
ROOM_FLOOR = 0.05  # a full creator's room: low enough to sink it, above 0 so that values stay finite
SUNK = 1e-6  # "displace": a full creator's factor for an offer it would decline, below any other of its block


@dataclass(frozen=True)
class MarketView:
    """What the reranker knows about the market: its state, the capacity prices and the controls' settings."""

    state: MarketState
    prices: CapacityPrices
    exposure: np.ndarray  # float64 per creator row: product lists it enters this period (:func:`.market.list_exposure`)
    settings: MatchingSettings
    flagged: np.ndarray | None = None  # per creator row: engagement looks bought (models.integrity)
    fake_penalty: float = 1.0  # a flagged creator's value x this (settings.integrity.fake_penalty)

    @classmethod
    def none(cls, n_creators: int, n_products: int, settings: MatchingSettings) -> MarketView:
        """No market: no existing pairs, no prices, no exposure (offline diagnostics, plain per-query ranking)."""
        return cls(
            MarketState.empty(n_creators, n_products),
            CapacityPrices.zero(n_creators, n_products),
            np.zeros(n_creators),
            settings,
        )

    def creator_multiplier(
        self, c: np.ndarray, offer: np.ndarray | None = None, affinity: np.ndarray | None = None
    ) -> np.ndarray:
        """The exposure controls' factor on each creator's value; ``offer``: each pair's expected earnings for the
        creator, for ``matching.full_creators = "displace"`` (creator lists; None elsewhere); ``affinity``: each
        pair's standardised retrieval score, blended in by ``matching.retrieval_blend``. A sunk
        creator's factor is never lifted above :data:`SUNK`."""
        s = self.settings
        boost = 1.0 + s.new_creator_boost * self.state.new_creator[c]
        mean = float(self.exposure.mean()) if len(self.exposure) else 0.0
        lists = self.exposure[c] / mean if mean > 0 else np.zeros(len(c))
        penalty = np.where(self.flagged[c], self.fake_penalty, 1.0) if self.flagged is not None else 1.0
        factor = boost * (1.0 + lists) ** -s.exposure_decay * penalty
        if affinity is not None and s.retrieval_blend > 0:
            factor = factor * np.exp(s.retrieval_blend * affinity)
        room = self.room(c, offer)
        return np.asarray(np.where(room == SUNK, SUNK * np.minimum(factor, 1.0), factor * room), dtype=np.float64)

    def _room_factor(self, c: np.ndarray, left: np.ndarray) -> np.ndarray:
        """``max(left / capacity, ROOM_FLOOR)^capacity_room`` (1 where capacity is not known)."""
        state = self.state
        free = left / np.maximum(state.creator_capacity[c], 1)
        room = np.where(state.capacity_known[c], np.clip(free, ROOM_FLOOR, 1.0), 1.0)
        return np.asarray(room**self.settings.capacity_room, dtype=np.float64)

    def room(self, c: np.ndarray, offer: np.ndarray | None = None) -> np.ndarray:
        """Each creator's room factor; under ``"displace"`` with floors known, a full creator's follows ``offer``
        (see the module docstring)."""
        state = self.state
        room = self._room_factor(c, state.creator_left[c])
        if offer is None or self.settings.full_creators != "displace" or state.creator_floor is None:
            return room
        full = state.capacity_known[c] & (state.creator_left[c] <= 0)
        displaces = np.asarray(offer, dtype=np.float64) > state.creator_floor[c]
        unpended = self._room_factor(c, state.creator_free[c].astype(np.float64))
        return np.asarray(np.where(full, np.where(displaces, unpended, SUNK), room), dtype=np.float64)

    def suspected(self, c: np.ndarray) -> np.ndarray:
        """True for creators flagged for bought followers or views."""
        return self.flagged[c] if self.flagged is not None else np.zeros(len(c), bool)

    def price(self, c: np.ndarray, p: np.ndarray) -> np.ndarray:
        return np.asarray(self.prices.creator[c] + self.prices.product[p], dtype=np.float64)


@dataclass(frozen=True)
class Ranked:
    """A list's order: positions into the :class:`Outcomes` rows, best first, with each row's list score, its
    capacity-aware value and the capacity price subtracted (all aligned with the outcomes rows)."""

    order: np.ndarray
    score: np.ndarray
    value: np.ndarray
    price: np.ndarray


def by_score(scored: ScoredPairs, depth: int) -> np.ndarray:
    """Positions of the best ``depth`` pairs by the ranker's score (the cascade's first tier first)."""
    candidates = scored.direction.candidate_rows(scored.c, scored.p)
    if scored.tier is not None:
        return np.lexsort((candidates, -scored.score, scored.tier))[:depth]
    return np.lexsort((candidates, -scored.score))[:depth]


def page_blocks(n: int, offset: int, k: int, block: int) -> slice:
    """Positions (in the ranker's order of ``n`` candidates) of the whole blocks the page ``[offset, offset + k)``
    falls in."""
    start = (offset // block) * block
    return slice(min(start, n), min(-(-(offset + k) // block) * block, n))


def in_blocks(rank: Callable[[Outcomes], Ranked], outcomes: Outcomes, block: int) -> Ranked:
    """``rank`` applied to each consecutive ``block`` of ``outcomes`` rows on its own, the blocks kept in order."""
    n = len(outcomes.idx)
    if 0 < n <= block:  # one block (a first page): the rows as they are, not a copy of every column
        return rank(outcomes)
    parts = [(s, rank(outcomes.take(np.arange(s, min(s + block, n))))) for s in range(0, n, block)]
    if not parts:
        empty = np.empty(0)
        return Ranked(np.empty(0, np.int64), empty, empty, empty)
    return Ranked(
        np.concatenate([r.order + s for s, r in parts]),
        np.concatenate([r.score for _, r in parts]),
        np.concatenate([r.value for _, r in parts]),
        np.concatenate([r.price for _, r in parts]),
    )


def capacity_value(
    scored: ScoredPairs, outcomes: Outcomes, market: MarketView, creator_list: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """(value, price) of each outcomes row (see the module docstring); ``creator_list``: the rows are offers to
    creators (a creator list), so a full creator's room follows the offer's expected earnings under ``"displace"``."""
    c, p = scored.c[outcomes.idx], scored.p[outcomes.idx]
    price = market.price(c, p)
    net = outcomes.gmv - price
    affinity = scored.affinity(outcomes.idx) if market.settings.retrieval_blend > 0 else None
    m = market.creator_multiplier(c, outcomes.commission if creator_list else None, affinity)
    return np.where(net >= 0, net * m, net / np.maximum(m, 1e-12)), price


def creators_by_value(scored: ScoredPairs, outcomes: Outcomes, market: MarketView) -> Ranked:
    """A product's (or a shop's) creators, best capacity-aware value first."""
    value, price = capacity_value(scored, outcomes, market, creator_list=True)
    order = np.lexsort((scored.c[outcomes.idx], -value))
    return Ranked(order, value, value, price)


def sorted_by(ranked: Ranked, outcomes: Outcomes, sort: CreatorSort) -> Ranked:
    """``ranked`` reordered by a business figure: expected GMV or ROI (highest first; an undefined ROI last), ties
    by the matcher's order; ``fit`` keeps it."""
    if sort is CreatorSort.FIT:
        return ranked
    key = outcomes.gmv if sort is CreatorSort.EXPECTED_GMV else np.nan_to_num(outcomes.roi, nan=-np.inf)
    position = np.empty(len(ranked.order), np.int64)
    position[ranked.order] = np.arange(len(ranked.order))
    order = ranked.order[np.lexsort((position[ranked.order], -key[ranked.order]))]
    return Ranked(order, ranked.score, ranked.value, ranked.price)


def creator_pool(
    scored: ScoredPairs,
    outcomes: Outcomes,
    market: MarketView,
    blend: float,
    product_category: np.ndarray,
) -> Ranked:
    """A creator's pool, best first (see the module docstring); the candidates are joinable products.
    ``product_category``: category code per product row."""
    value, price = capacity_value(scored, outcomes, market)
    blended = blend_fit_and_earnings(value, outcomes.commission, blend)
    p = scored.p[outcomes.idx]
    blended = _diversified(blended, product_category[p], market.settings.category_diversity)
    return Ranked(np.lexsort((p, -blended)), blended, value, price)


def _diversified(score: np.ndarray, category: np.ndarray, diversity: float) -> np.ndarray:
    """``score · (1 − diversity)^r`` where r is the row's rank within its category by ``score``. Scores are ≥ 0
    (min-max normalised), so the discount keeps each category's order and places the n-th item of a category as if
    n − 1 items of that category were already above it (a greedy diversity pass, in closed form)."""
    if diversity <= 0 or len(score) == 0:
        return score
    order = np.lexsort((-score, category))
    ranks = np.empty(len(score), np.int64)
    starts = np.r_[True, category[order][1:] != category[order][:-1]]
    run = np.cumsum(starts) - 1
    first = np.flatnonzero(starts)
    ranks[order] = np.arange(len(score)) - first[run]
    return np.asarray(score * (1.0 - diversity) ** ranks, dtype=np.float64)


def best_product_per_creator(scored: ScoredPairs) -> np.ndarray:
    """Positions of each creator's best-fitting pair, best creators first (shop-level lists)."""
    by_fit = np.lexsort((scored.p, scored.c, -scored.fit))
    _, first = np.unique(scored.c[by_fit], return_index=True)
    best = by_fit[first]
    return best[np.lexsort((scored.c[best], -scored.fit[best]))]
