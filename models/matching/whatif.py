"""Commission what-if: where a product would stand in creators' pools, and what it would earn and cost, at another
commission rate — computed with the live models and rules, changing nothing.

How a plan's rate reaches a creator's pool (``Matcher.recommend_products``), and so what is recomputed here:

- **plan resolution** — the rate (and, for tiers, the projected rate) each creator would get; eligibility too, so the
  candidate search is repeated under the proposed plans only when the product's eligibility for the creator moves;
- **scoring** — the rate is a pair feature (``x_commission_rate``, ``x_commission_vs_category``), so the product's
  ranker score moves, and with it its place in the ranker's order and the rerank block it falls in
  (:func:`.rerank.in_blocks`);
- **outcomes** — the GMV model reads the same features, and the expected commission is GMV x rate;
- **reranking** — the pool blends capacity-aware value with expected earnings, each min-max normalised *within the
  block* (``rules.earnings_blend``), then discounts repeats of a category: the whole block is reranked.

What a plan edit does not touch stays as it is: retrieval vectors and the product's entity features (they move only
with a new bundle), the market's capacity prices and exposure, the other products' scores. So for each creator the
candidates are scored once; under the proposed plans only the pairs whose rate changed are scored again (the product's
own row), and outcomes are predicted only for the one block the product falls in — under each plan set. That is the
same computation a refreshed service does for the creator's pool, restricted to what the product's place depends on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.matching import rerank
from models.matching.matcher import Matcher
from models.matching.outcomes import Outcomes
from models.matching.resolution import Resolved
from models.matching.scoring import ScoredPairs
from recsys.core.vocab import Direction

NOT_IN_POOL = 0  # the place of a product a creator's pool does not list


@dataclass(frozen=True)
class Candidates:
    """A creator's joinable new candidates under one plan set: aligned creator rows, product rows, resolution."""

    c: np.ndarray
    p: np.ndarray
    resolved: Resolved


@dataclass(frozen=True)
class PairMoney:
    """Per creator, the product's pair under one plan set: rate, expected GMV, orders and commission cost.

    All arrays have one entry per creator; GMV and commission are in yuan over the outcomes horizon.
    """

    rate: np.ndarray
    gmv: np.ndarray
    orders: np.ndarray
    commission: np.ndarray


@dataclass(frozen=True)
class WhatIfSummary:
    """The what-if in figures and one sentence (see :func:`summarise`)."""

    creators: int
    in_pool_today: int
    in_pool_proposed: int
    improves: int
    worsens: int
    unchanged: int
    median_rank_today: float | None
    median_rank_proposed: float | None
    gmv_today: float
    gmv_proposed: float
    gmv_change_pct: float | None
    cost_today: float
    cost_proposed: float
    cost_change_pct: float | None
    text: str


# --- the product's place in creators' pools -------------------------------------------------------------------


@dataclass(frozen=True)
class ProductPairs:
    """The product's pair with each examined creator under one plan set: scored (one row per creator, as a creator's
    pool scores it) and its outcomes."""

    scored: ScoredPairs
    outcomes: Outcomes

    @property
    def money(self) -> PairMoney:
        o = self.outcomes
        return PairMoney(o.resolved.rate, o.gmv, o.units, o.commission)


@dataclass(frozen=True)
class WhatIf:
    """``places``: array of shape (n_creators, 2), the product's 1-based place in each creator's pool today and
    proposed (:data:`NOT_IN_POOL`: not listed); the pair's money figures both ways."""

    places: np.ndarray
    today: PairMoney
    proposed: PairMoney


def with_plans(matcher: Matcher, changed_plans: pd.DataFrame) -> Matcher:
    """The same matcher with ``changed_plans`` (store rows) upserted into its plan rules, as a plan edit makes it;
    ``matcher`` is untouched (a private copy: nothing another request sees changes)."""
    book = matcher.planbook
    return matcher.with_planbook(book.refresh(changed_plans) if book is not None else None)


def what_if(today: Matcher, proposed: Matcher, product_row: int, creator_rows: Sequence[int]) -> WhatIf:
    """The product's place in each creator's pool and the pair's money under ``today``'s plans and ``proposed``'s
    (the same matcher with other plan rules) — exactly what ``recommend_products`` (default filters) would show."""
    if len(creator_rows) == 0:
        empty = np.empty(0)
        return WhatIf(np.empty((0, 2), np.int64), *[PairMoney(empty, empty, empty, empty)] * 2)
    pairs_today = product_pairs(today, product_row, creator_rows)
    pairs_proposed = product_pairs(proposed, product_row, creator_rows)
    places = np.full((len(creator_rows), 2), NOT_IN_POOL, np.int64)
    for i, c in enumerate(creator_rows):
        places[i] = _places_for_creator(today, proposed, product_row, int(c), pairs_today, pairs_proposed, i)
    return WhatIf(places, pairs_today.money, pairs_proposed.money)


def product_pairs(matcher: Matcher, product_row: int, creator_rows: Sequence[int]) -> ProductPairs:
    """The product's pair with each creator under ``matcher``'s plans, scored and with outcomes (one batch; at least
    one creator: no model sees 0 rows)."""
    c = np.asarray(creator_rows, np.int64)
    p = np.full(len(c), product_row, np.int64)
    scored = matcher.scorer.score(Direction.CREATOR, c, p, None, matcher.resolver.resolve(c, p))
    return ProductPairs(scored, matcher.outcomes.predict(scored, np.arange(len(c))))


def _places_for_creator(
    today: Matcher,
    proposed: Matcher,
    product_row: int,
    c: int,
    pairs_today: ProductPairs,
    pairs_proposed: ProductPairs,
    i: int,
) -> tuple[int, int]:
    before = _candidates(today, c)
    if pairs_today.scored.resolved.eligible[i] != pairs_proposed.scored.resolved.eligible[i]:
        return _places_searched_again(today, proposed, product_row, c, before)  # the candidate search may differ
    at = np.flatnonzero(before.p == product_row)
    if len(at) == 0:
        return NOT_IN_POOL, NOT_IN_POOL  # not a candidate either way: nothing to score
    scored = today.scorer.score(Direction.CREATOR, before.c, before.p, None, before.resolved)
    place_today = _place(today, scored, rerank.by_score(scored, len(scored.p)), product_row)
    score = scored.score.copy()
    score[at[0]] = pairs_proposed.scored.score[i]  # only the product's rate, so only its score, moved
    order = np.lexsort((scored.p, -score))  # rerank.by_score's order with the product's new score
    return place_today, _place(proposed, scored, order, product_row, again=True)


def _take(scored: ScoredPairs, rows: np.ndarray) -> ScoredPairs:
    return ScoredPairs(
        scored.direction,
        scored.c[rows],
        scored.p[rows],
        scored.X[rows],
        scored.score[rows],
        scored.fit[rows],
        scored.resolved.take(rows),
        affinity_model=scored.affinity_model,
    )


def _again(proposed: Matcher, scored: ScoredPairs, rows: np.ndarray) -> ScoredPairs:
    """Rows of today's ``scored`` under the proposed plans: resolved again, and the pairs whose rate moved (the
    product's) scored again; the others keep their features and score, as nothing they depend on moved."""
    c, p = scored.c[rows], scored.p[rows]
    resolved = proposed.resolver.resolve(c, p)
    X, score, fit = scored.X[rows].copy(), scored.score[rows].copy(), scored.fit[rows].copy()
    redo = np.flatnonzero(resolved.rate != scored.resolved.rate[rows])
    if len(redo):
        fresh = proposed.scorer.score(Direction.CREATOR, c[redo], p[redo], None, resolved.take(redo))
        X[redo], score[redo], fit[redo] = fresh.X, fresh.score, fresh.fit
    return ScoredPairs(Direction.CREATOR, c, p, X, score, fit, resolved, affinity_model=proposed.scorer.affinity)


def _place(matcher: Matcher, scored: ScoredPairs, order: np.ndarray, product_row: int, again: bool = False) -> int:
    """The product's 1-based place in the pool of the candidates ``scored`` in the ranker's ``order``: the rerank of
    the one block it falls in, as ``Matcher.recommend_products`` does it (``again``: the block's rows taken under
    ``matcher``'s plans with :func:`_again` — only the block's, the rows outside do not move the place)."""
    hit = np.flatnonzero(scored.p[order] == product_row)
    if len(hit) == 0:
        return NOT_IN_POOL
    span = rerank.page_blocks(len(order), int(hit[0]), 1, rerank.RERANK_DEPTH)
    block = _again(matcher, scored, order[span]) if again else _take(scored, order[span])
    blend, category = matcher.settings.rules.earnings_blend, matcher.engine.tables.arrays["product_category"]
    outcomes = matcher.outcomes.predict(block, np.arange(len(block.p)))
    ranked = rerank.creator_pool(block, outcomes, matcher.market, blend, category)
    shown = block.p[outcomes.idx[ranked.order]]
    return span.start + int(np.flatnonzero(shown == product_row)[0]) + 1


def _places_searched_again(
    today: Matcher, proposed: Matcher, product_row: int, c: int, before: Candidates
) -> tuple[int, int]:
    """Both places when the product's eligibility for the creator differs between the plan sets: the proposed
    candidates are searched again and scored, reusing today's scores where the rate did not move."""
    after = _candidates(proposed, c)
    if product_row not in before.p and product_row not in after.p:
        return NOT_IN_POOL, NOT_IN_POOL
    scored = today.scorer.score(Direction.CREATOR, before.c, before.p, None, before.resolved)
    scored_after = _scored_again(proposed, scored, after)
    place_today = _place(today, scored, rerank.by_score(scored, len(scored.p)), product_row)
    return place_today, _place(proposed, scored_after, rerank.by_score(scored_after, len(scored_after.p)), product_row)


def _candidates(matcher: Matcher, c: int) -> Candidates:
    """The creator's joinable new candidates as ``recommend_products`` selects them (default filters)."""
    rows, known = matcher.candidates.find_resolved(Direction.CREATOR, c, matcher.settings.retrieval.candidates)
    # the step recommend_products takes (private there): calling it keeps the two from drifting apart
    cs, ps, resolved = matcher._joinable(np.full(len(rows), c), rows, known, None)
    return Candidates(cs, ps, resolved)


def _scored_again(proposed: Matcher, before: ScoredPairs, after: Candidates) -> ScoredPairs:
    """The creator's candidates under the proposed plans, scored: a pair whose rate did not change keeps its features
    and score (nothing else they depend on moved), the others are scored again."""
    n = len(after.p)
    X = np.empty((n, before.X.shape[1]), before.X.dtype)
    score, fit = np.empty(n), np.empty(n)
    same = np.zeros(n, bool)
    if len(before.p) and n:
        sorter = np.argsort(before.p, kind="stable")
        at = sorter[np.minimum(np.searchsorted(before.p, after.p, sorter=sorter), len(sorter) - 1)]
        same = (before.p[at] == after.p) & (before.resolved.rate[at] == after.resolved.rate)
        X[same], score[same], fit[same] = before.X[at[same]], before.score[at[same]], before.fit[at[same]]
    redo = np.flatnonzero(~same)
    if len(redo):
        fresh = proposed.scorer.score(Direction.CREATOR, after.c[redo], after.p[redo], None, after.resolved.take(redo))
        X[redo], score[redo], fit[redo] = fresh.X, fresh.score, fresh.fit
    return ScoredPairs(
        Direction.CREATOR, after.c, after.p, X, score, fit, after.resolved, affinity_model=proposed.scorer.affinity
    )


# --- summary ----------------------------------------------------------------------------------------------------


def change_label(rate_today: float, rate_proposed: float, tiers_changed: bool) -> str:
    """``+3 pt`` (the base rate's change in percentage points), ``+2.5 pt and new tiers``, or ``new tiers``."""
    points = round((rate_proposed - rate_today) * 100, 2)
    base = f"{points:+g} pt" if points != 0 else ""
    if tiers_changed:
        return f"{base} and new tiers" if base else "new tiers"
    return base or "+0 pt"


def _median(places: np.ndarray) -> float | None:
    listed = places[places != NOT_IN_POOL]
    return float(np.median(listed)) if len(listed) else None


def _change_pct(today: float, proposed: float) -> float | None:
    return round((proposed - today) / today * 100, 1) if today > 0 else None


def _fmt_rank(value: float | None) -> str:
    if value is None:
        return "none"
    return f"{value:g}" if value == int(value) else f"{value:.1f}"


def _fmt_pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.0f}%"


def summarise(places: np.ndarray, today: PairMoney, proposed: PairMoney, label: str) -> WhatIfSummary:
    """Counts of creators whose place improves (a smaller place, or the product enters the pool) or worsens,
    the median place among the pools listing the product, before and after, and the change of the summed expected
    GMV and commission cost over the creators examined; ``places`` as :func:`pool_places` returns them."""
    before, after = places[:, 0], places[:, 1]
    big = np.iinfo(np.int64).max
    b, a = np.where(before == NOT_IN_POOL, big, before), np.where(after == NOT_IN_POOL, big, after)
    gmv_today, gmv_proposed = float(today.gmv.sum()), float(proposed.gmv.sum())
    cost_today, cost_proposed = float(today.commission.sum()), float(proposed.commission.sum())
    median_today, median_proposed = _median(before), _median(after)
    gmv_pct, cost_pct = _change_pct(gmv_today, gmv_proposed), _change_pct(cost_today, cost_proposed)
    in_pool = int((after != NOT_IN_POOL).sum())
    text = (
        f"{label}: median rank {_fmt_rank(median_today)} → {_fmt_rank(median_proposed)} in {in_pool} creators' pools; "
        f"expected GMV {_fmt_pct(gmv_pct)}, cost {_fmt_pct(cost_pct)}"
    )
    return WhatIfSummary(
        creators=len(places),
        in_pool_today=int((before != NOT_IN_POOL).sum()),
        in_pool_proposed=in_pool,
        improves=int((a < b).sum()),
        worsens=int((a > b).sum()),
        unchanged=int((a == b).sum()),
        median_rank_today=median_today,
        median_rank_proposed=median_proposed,
        gmv_today=round(gmv_today, 2),
        gmv_proposed=round(gmv_proposed, 2),
        gmv_change_pct=gmv_pct,
        cost_today=round(cost_today, 2),
        cost_proposed=round(cost_proposed, 2),
        cost_change_pct=cost_pct,
        text=text,
    )
