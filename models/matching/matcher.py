"""The matcher: the named stages of a recommendation, assembled in one place.

candidate selection (:mod:`.candidates`, filters from :mod:`.filters` restricting the search; existing
collaborations left out unless asked; with ``matching.full_creators = "hide"`` creators with no room left out of
creator lists; with ``"displace"`` kept there, sunk unless the offer beats their weakest pending one, in the rerank)
→ plan resolution, once (:mod:`.resolution`) → scoring (:mod:`.scoring`) →
outcomes for the rerank blocks the page touches (:mod:`.outcomes`) → reranking by capacity-aware value, block by
block so pages continue exactly (:mod:`.rerank`, with the market's state and capacity prices from :mod:`.market`) →
explanation of the returned page only (:mod:`.page`). Rows stay row numbers until the page's columns
(:class:`Page`) are built; :class:`Recommendation` objects only when a caller asks for them (the list endpoints
build their responses from the columns).

``creator_pool_page`` serves a creator's product pool; ``product_creators_page`` a merchant looking for creators for
one product, ``merchant_creators_page`` for its whole shop — each a :class:`Page`; ``recommend_products``,
``recommend_creators`` and ``recommend_creators_for_merchant`` take the same arguments and return the page's
:class:`Recommendation` objects. ``score_pairs`` scores explicit pairs. Rules come
from a :class:`recsys.core.rules.PlanBook` whose rows align with the bundle's id maps; without one (offline
diagnostics) every pair is eligible at the product's best public rate.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import replace

import faiss
import numpy as np

from models.engine import Engine
from models.matching import rerank
from models.matching.candidates import CandidateFinder
from models.matching.catalog import Catalog
from models.matching.filters import CreatorFilters, ProductFilters, has_room
from models.matching.outcomes import OutcomePredictor, Outcomes, sample_costs
from models.matching.page import PageExplainer
from models.matching.recommendation import Page, PageColumns, Recommendation, as_objects
from models.matching.rerank import MarketView, Ranked
from models.matching.resolution import PlanResolver, Resolved
from models.matching.scoring import Cascade, PairScorer, ScoredPairs
from recsys.core.config import Settings
from recsys.core.rules import PairResolution, PlanBook
from recsys.core.vocab import CreatorSort, Direction, PromotionFormat

__all__ = ["CreatorFilters", "Matcher", "Page", "ProductFilters", "Recommendation", "UnknownEntity"]


class UnknownEntity(KeyError):
    """An id the bundle does not know."""

    def __init__(self, kind: str, entity_id: str) -> None:
        super().__init__(f"unknown {kind} {entity_id!r}")
        self.kind = kind
        self.entity_id = entity_id


class Matcher:
    """Recommendations from a trained engine, a catalogue and (optionally) the plan rules."""

    def __init__(
        self,
        engine: Engine,
        catalog: Catalog,
        planbook: PlanBook | None,
        settings: Settings,
        market: MarketView | None = None,
    ) -> None:
        self.engine = engine
        self.catalog = catalog
        self.planbook = planbook
        self.settings = settings
        n_c, n_p = len(engine.tables.creators), len(engine.tables.products)
        self.market = market if market is not None else MarketView.none(n_c, n_p, settings.matching)
        # Requests are small: one thread each, concurrency comes from workers. Every prediction must use the same
        # count: LightGBM re-sizes its OpenMP pool whenever consecutive calls differ (measured 3x slower).
        threads = 1
        faiss.omp_set_num_threads(settings.retrieval.faiss_threads)  # and FAISS shares the same OpenMP pool
        self.candidates = CandidateFinder(engine.tables, engine.retriever, catalog, planbook, settings.retrieval)
        self.resolver = PlanResolver(planbook, engine.tables)
        ranker = settings.ranker
        cascade, blend = Cascade(ranker.cascade_trees, ranker.cascade_keep), settings.matching.retrieval_blend > 0
        self.scorer = PairScorer(engine, threads, cascade, affinity=blend)
        self.outcomes = OutcomePredictor(
            engine, catalog, self.resolver, self._sample_cost(self.market), self.market.state.existing, threads
        )
        self.explainer = PageExplainer(engine, threads)

    def _sample_cost(self, market: MarketView) -> np.ndarray:
        """Per product row, what one sample costs its merchant in ``market`` (:func:`sample_costs`)."""
        rules = self.settings.rules
        stated = market.state.product_sample_cost
        return sample_costs(stated, self.catalog.product_price, rules.sample_cost_share, rules.sample_shipping)

    def with_planbook(self, planbook: PlanBook | None) -> Matcher:
        """The same matcher under other plan rules (plan edits, another time). Only what reads the rules is built
        again; the scorer, the page explainer (its per-leaf reason sums: ~150 ms at 1M), the sample costs, the
        refund rates and the filter masks are shared with this one. A served state moves to a new time every minute:
        rebuilding them each time cost every forked worker ~40 MiB of private copies of pages it shared."""
        other = copy.copy(self)
        other.planbook = planbook
        other.candidates = CandidateFinder(
            self.engine.tables, self.engine.retriever, self.catalog, planbook, self.settings.retrieval
        )
        other.candidates.masks = self.candidates.masks
        other.resolver = PlanResolver(planbook, self.engine.tables)
        other.outcomes = copy.copy(self.outcomes)
        other.outcomes.resolver = other.resolver
        return other

    def with_pending(self, pending: np.ndarray, floor: np.ndarray | None = None) -> Matcher:
        """The same matcher with ``pending`` unanswered invitations per creator row holding room (and, when known,
        ``floor``: the expected earnings of the weakest of them within the creator's room,
        :func:`.market.displacement_floor`): only the reranker's capacity view changes, so nothing else is rebuilt."""
        other = copy.copy(self)
        weighted = np.asarray(pending, dtype=np.float64) * self.settings.matching.pending_invites
        other.market = replace(self.market, state=self.market.state.with_pending(weighted, floor))
        return other

    def with_market(self, market: MarketView) -> Matcher:
        """The same matcher in another market state (promotions that arrived since). Only the money stage reads the
        market (sample costs, existing pairs); everything else is shared, as in :meth:`with_planbook`."""
        other = copy.copy(self)
        other.market = market
        other.outcomes = copy.copy(self.outcomes)
        other.outcomes.sample_cost = np.asarray(self._sample_cost(market), dtype=np.float64)
        other.outcomes.existing = market.state.existing
        return other

    # --- stages chained -----------------------------------------------------------------------------------

    def _score(
        self,
        direction: Direction,
        c: np.ndarray,
        p: np.ndarray,
        fmt: PromotionFormat | None,
        known: PairResolution | None = None,
    ) -> ScoredPairs:
        return self.scorer.score(direction, c, p, fmt, self.resolver.resolve(c, p, known))

    def _new_only(self, c: np.ndarray, p: np.ndarray, include_existing: bool | None) -> np.ndarray:
        """Positions of the pairs a list may show: all, or only new partners (the default)."""
        include = self.settings.matching.include_existing if include_existing is None else include_existing
        return np.arange(len(c)) if include else np.flatnonzero(~self.market.state.existing(c, p))

    def _with_room(self, c: np.ndarray, keep: np.ndarray) -> np.ndarray:
        """``keep`` less the positions whose creator has no capacity left (``matching.full_creators = "hide"``;
        creator lists)."""
        if self.settings.matching.full_creators != "hide":
            return keep
        state = self.market.state
        return keep[has_room(state.creator_left[c[keep]], state.capacity_known[c[keep]])]

    def _joinable(
        self,
        c: np.ndarray,
        p: np.ndarray,
        known: PairResolution | None,
        include_existing: bool | None,
        need_room: bool = False,
    ) -> tuple[np.ndarray, np.ndarray, Resolved]:
        """The pairs a list may show — new partners unless asked, creators with room in creator lists under
        ``matching.full_creators = "hide"`` (``need_room``), joinable under the plan rules — resolved once."""
        keep = self._new_only(c, p, include_existing)
        keep = self._with_room(c, keep) if need_room else keep
        c, p = c[keep], p[keep]
        resolved = self.resolver.resolve(c, p, known.take(keep) if known is not None else None)
        ok = np.flatnonzero(resolved.eligible)
        return c[ok], p[ok], resolved.take(ok)

    def _blocked_page(
        self,
        scored: ScoredPairs,
        order: np.ndarray,
        pick: slice,
        block: int,
        rank: Callable[[Outcomes], Ranked],
    ) -> Page:
        """The page ``pick`` of the list whose candidates, in ``order``, are reranked by ``rank`` block by block
        (:func:`.rerank.in_blocks`): outcomes only for the blocks the page touches, the same order on every page."""
        if pick.start >= len(order):  # past the end of the list
            return Page()
        span = rerank.page_blocks(len(order), pick.start, pick.stop - pick.start, block)
        outcomes = self.outcomes.predict(scored, order[span])
        ranked = rerank.in_blocks(rank, outcomes, block)
        start = pick.start - span.start
        return self._ranked_page(scored, outcomes, ranked, slice(start, start + pick.stop - pick.start))

    def _ranked_page(self, scored: ScoredPairs, outcomes: Outcomes, ranked: Ranked, pick: slice) -> Page:
        rows = ranked.order[pick]
        return self._page(scored, outcomes.take(rows), ranked.score[rows], ranked.price[rows])

    def _page(
        self, scored: ScoredPairs, outcomes: Outcomes, order_score: np.ndarray, price: np.ndarray | None = None
    ) -> Page:
        """The page's columns: ``outcomes`` rows in order, with their list score."""
        if len(outcomes.idx) == 0:  # an empty page (e.g. nothing pays min_commission): no model sees 0 rows
            return Page()
        weight, gpm, reasons = self.explainer.explain(scored, outcomes.idx, outcomes.resolved.rate)
        state, idx, res = self.market.state, outcomes.idx, outcomes.resolved
        c, p = scored.c[idx], scored.p[idx]
        plan_ids = self.planbook.plan_ids if self.planbook is not None else None
        price_of = np.maximum(self.catalog.product_price[p], 1e-9)
        tables = self.engine.tables
        columns = PageColumns(
            c=c,
            p=p,
            creator_ids=[str(x) for x in tables.creators.ids[c].tolist()],
            product_ids=[str(x) for x in tables.products.ids[p].tolist()],
            score=order_score,
            fit=scored.fit[idx],
            weight=weight,
            gpm=gpm,
            gmv=outcomes.gmv,
            gmv_low=outcomes.gmv_low,
            gmv_high=outcomes.gmv_high,
            units=outcomes.units,
            units_low=outcomes.gmv_low / price_of,
            units_high=outcomes.gmv_high / price_of,
            commission=outcomes.commission,
            commission_low=outcomes.commission_low,
            commission_high=outcomes.commission_high,
            sample_cost=outcomes.sample_cost,
            roi=outcomes.roi,
            rate=res.rate,
            plan_row=res.plan_row,
            plan_type=res.plan_type,
            eligible=res.eligible,
            reason=res.reason,
            existing=state.existing(c, p),
            suspected=self.market.suspected(c),
            left=state.creator_left[c],
            limited=state.capacity_known[c],
            price=price,
        )
        return Page(columns, reasons, plan_ids)

    # --- admission ----------------------------------------------------------------------------------------

    def creator_refusal(self, creator_id: str) -> str | None:
        """Why a creator gets no product pool at all (a reason code), or None when the creator is admitted."""
        c = self._creator_row(creator_id)
        return self.planbook.creator_refusal(c) if self.planbook is not None else None

    def product_refusal(self, product_id: str) -> str | None:
        """Why a product is never recommended (its merchant's admission), or None."""
        p = self._product_row(product_id)
        return self.planbook.product_refusal(p) if self.planbook is not None else None

    def _creator_row(self, creator_id: str) -> int:
        try:
            return self.engine.tables.creators.row(creator_id)
        except KeyError:
            raise UnknownEntity("creator", creator_id) from None

    def _product_row(self, product_id: str) -> int:
        try:
            return self.engine.tables.products.row(product_id)
        except KeyError:
            raise UnknownEntity("product", product_id) from None

    # --- creator -> products -------------------------------------------------------------------------------

    def creator_pool_page(
        self,
        creator_id: str,
        k: int = 20,
        filters: ProductFilters = ProductFilters(),
        offset: int = 0,
        include_existing: bool | None = None,
    ) -> Page:
        """The creator's product pool: joinable new products ranked by a blend of capacity-aware value and expected
        earnings (``include_existing``: also products it already promotes; default ``matching.include_existing``)."""
        c = self._creator_row(creator_id)
        static = self.candidates.product_filter(filters)
        n = self.settings.retrieval.candidates
        if filters.min_commission is None:
            rows, known = self.candidates.find_resolved(Direction.CREATOR, c, n, static)
        else:  # rate-dependent: the plan resolution decides, before any truncation
            rows, known = self.candidates.find_paying(c, n, filters.min_commission, static)
        cs, ps, resolved = self._joinable(np.full(len(rows), c), rows, known, include_existing)
        if len(ps) == 0:
            return Page()
        scored = self.scorer.score(Direction.CREATOR, cs, ps, filters.format, resolved)
        blend, category = self.settings.rules.earnings_blend, self.engine.tables.arrays["product_category"]

        def rank(outcomes: Outcomes) -> Ranked:
            return rerank.creator_pool(scored, outcomes, self.market, blend, category)

        order = rerank.by_score(scored, len(ps))
        return self._blocked_page(scored, order, slice(offset, offset + k), rerank.RERANK_DEPTH, rank)

    # --- product / merchant -> creators --------------------------------------------------------------------

    def _creators_page(self, scored: ScoredPairs, order: np.ndarray, pick: slice, sort: CreatorSort) -> Page:
        """A creator list's page: by capacity-aware value in blocks of the rerank depth, or sorted by a business
        figure over the whole list (one block)."""

        def rank(outcomes: Outcomes) -> Ranked:
            return rerank.sorted_by(rerank.creators_by_value(scored, outcomes, self.market), outcomes, sort)

        block = rerank.RERANK_DEPTH if sort is CreatorSort.FIT else max(len(order), 1)
        return self._blocked_page(scored, order, pick, block, rank)

    def product_creators_page(
        self,
        product_id: str,
        k: int = 20,
        filters: CreatorFilters = CreatorFilters(),
        offset: int = 0,
        include_existing: bool | None = None,
        sort: CreatorSort = CreatorSort.FIT,
    ) -> Page:
        """New creators for one product by capacity-aware value (or ``sort``: expected GMV, ROI); with predicted
        GMV and the merchant's expected ROI (``include_existing``: also creators already promoting it)."""
        p = self._product_row(product_id)
        static = self.candidates.creator_filter(filters)
        rows, known = self.candidates.find_resolved(Direction.PRODUCT, p, self.settings.retrieval.candidates, static)
        cs, ps, resolved = self._joinable(rows, np.full(len(rows), p), known, include_existing, need_room=True)
        if len(cs) == 0:
            return Page()
        # the positions the page's rerank blocks read (a sort by a business figure reads the whole list)
        depth = rerank.page_blocks(len(cs), offset, k, rerank.RERANK_DEPTH).stop if sort is CreatorSort.FIT else None
        scored = self.scorer.score(Direction.PRODUCT, cs, ps, filters.format, resolved, depth)
        return self._creators_page(scored, rerank.by_score(scored, len(cs)), slice(offset, offset + k), sort)

    def merchant_creators_page(
        self,
        merchant_id: str,
        k: int = 20,
        filters: CreatorFilters = CreatorFilters(),
        offset: int = 0,
        max_products: int = 20,
        per_product: int = 200,
        include_existing: bool | None = None,
        sort: CreatorSort = CreatorSort.FIT,
    ) -> Page:
        """Shop-level: the best new creators across the merchant's top-selling admitted products, each creator
        listed once with the product it fits best, by capacity-aware value. Candidates of all products are scored
        in one batch."""
        rows = self.catalog.merchant_products(merchant_id)
        if rows is None:
            raise UnknownEntity("merchant", merchant_id)
        if self.planbook is not None:
            rows = rows[self.planbook.admitted_products[rows]]
        gmv90 = self.engine.tables.product[rows, self.engine.tables.product_names.index("p_log_gmv_90d")]
        rows = rows[np.lexsort((rows, -gmv90))][:max_products]
        static = self.candidates.creator_filter(filters)
        found = [self.candidates.find(Direction.PRODUCT, int(p), per_product, static) for p in rows]
        if sum(len(x) for x in found) == 0:
            return Page()
        c = np.concatenate(found)
        p = np.concatenate([np.full(len(x), row) for x, row in zip(found, rows, strict=True)])
        c, p, resolved = self._joinable(c, p, None, include_existing, need_room=True)
        if len(c) == 0:
            return Page()
        scored = self.scorer.score(Direction.PRODUCT, c, p, filters.format, resolved)
        order = rerank.best_product_per_creator(scored)
        return self._creators_page(scored, order, slice(offset, offset + k), sort)

    # the lists as Recommendation objects: the same arguments as their pages
    recommend_products = as_objects(creator_pool_page)
    recommend_creators = as_objects(product_creators_page)
    recommend_creators_for_merchant = as_objects(merchant_creators_page)

    def recommend(self, direction: Direction, query_id: str, k: int = 20, offset: int = 0) -> list[Recommendation]:
        """A direction's list for a query id (a creator's pool or a product's creators), default filters."""
        if direction is Direction.CREATOR:
            return self.recommend_products(query_id, k, offset=offset)
        return self.recommend_creators(query_id, k, offset=offset)

    # --- explicit pairs ------------------------------------------------------------------------------------

    def score_pairs(
        self, creator_ids: list[str], product_ids: list[str], fmt: PromotionFormat | None = None
    ) -> list[Recommendation]:
        """Score explicit (creator, product) pairs; ineligible pairs are scored too and carry the refusal reason."""
        c = np.array([self._creator_row(x) for x in creator_ids], dtype=np.int64)
        p = np.array([self._product_row(x) for x in product_ids], dtype=np.int64)
        scored = self._score(Direction.CREATOR, c, p, fmt)
        idx = np.arange(len(c))
        return self._page(scored, self.outcomes.predict(scored, idx), scored.fit).recommendations()
