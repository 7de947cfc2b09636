"""The matcher: retrieve (over-fetch, filtered) -> pair features -> rank -> plan rules -> top-k with explanations.

``recommend_products`` serves a creator's product pool; ``recommend_creators`` serves a merchant looking for creators
for one product or for its whole shop; ``score_pairs`` scores explicit pairs. Rules come from a
:class:`recsys.core.rules.PlanBook` whose rows align with the bundle's id maps; without one (offline diagnostics) every
pair is eligible at the product's best public rate.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import faiss
import numpy as np

from models.matching.candidates import CandidateFinder
from models.matching.catalog import Catalog
from models.matching.explain import Reason, top_reasons
from models.training.train import Engine
from models.training.windows import Direction
from recsys.core.config import Settings
from recsys.core.rules import PairResolution, PlanBook, blend_fit_and_earnings, expected_commission, merchant_roi_array
from recsys.core.schema import PLAN_TYPES, PROMOTION_FORMATS

RERANK_DEPTH = 200  # candidates that get GMV predictions and the earnings blend


class UnknownEntity(KeyError):
    """An id the bundle does not know."""

    def __init__(self, kind: str, entity_id: str) -> None:
        super().__init__(f"unknown {kind} {entity_id!r}")
        self.kind = kind
        self.entity_id = entity_id


@dataclass(frozen=True)
class ProductFilters:
    category: str | None = None
    min_commission: float | None = None
    format: str | None = None  # promotion format the creator plans (predictions depend on it)


@dataclass(frozen=True)
class CreatorFilters:
    fan_tier: str | None = None
    region: str | None = None
    category: str | None = None
    format: str | None = None


@dataclass
class Recommendation:
    creator_id: str
    product_id: str
    score: float  # the value the list is ordered by
    fit_score: float  # the ranker's score as its place among validation pairs, in [0, 1]
    predicted_gmv: float
    predicted_units: float
    distribution_weight: float
    commission_rate: float
    plan_id: str | None
    plan_type: str | None
    expected_commission: float  # the creator's expected earnings = the merchant's expected commission cost
    merchant_roi: float | None
    eligible: bool = True
    refusal_reason: str | None = None
    reasons: list[Reason] = field(default_factory=list)


@dataclass
class _Scored:
    direction: Direction
    c: np.ndarray
    p: np.ndarray
    X: np.ndarray
    score: np.ndarray
    fit: np.ndarray
    rate: np.ndarray
    plan_row: np.ndarray
    plan_type: np.ndarray
    eligible: np.ndarray
    reason: list[str | None]


class Matcher:
    """Recommendations from a trained engine, a catalogue and (optionally) the plan rules."""

    def __init__(self, engine: Engine, catalog: Catalog, planbook: PlanBook | None, settings: Settings) -> None:
        self.engine = engine
        self.catalog = catalog
        self.planbook = planbook
        self.settings = settings
        tables = engine.tables
        self.candidates = CandidateFinder(tables, engine.retriever, catalog, planbook, settings.retrieval)
        refund = tables.product[:, tables.product_names.index("p_refund_rate_90d")].astype(np.float64)
        self._refund = np.where(np.isfinite(refund), refund, np.nanmean(refund) if np.isfinite(refund).any() else 0.0)
        # Requests are small: one thread each, concurrency comes from workers. Every prediction must use the same
        # count: LightGBM re-sizes its OpenMP pool whenever consecutive calls differ (measured 3x slower).
        self._threads = 1
        faiss.omp_set_num_threads(settings.retrieval.faiss_threads)  # and FAISS shares the same OpenMP pool
        for ranker in engine.rankers.values():  # built once here, not by the first request (~150 ms at 1M)
            ranker.prepare_explanations()

    # --- shared steps --------------------------------------------------------------------------------------

    def _resolve(
        self, c: np.ndarray, p: np.ndarray, units: np.ndarray | None = None, known: PairResolution | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[str | None]]:
        """(eligible, rate, plan row, plan type, reason code) per pair; ``known``: the pairs' resolution without
        predicted units, already computed by the candidate search."""
        n = len(c)
        if self.planbook is None:
            rate = self.engine.tables.arrays["product_best_rate"][p].astype(np.float64)
            ok = np.ones(n, bool)
            no_reasons: list[str | None] = [None] * n
            return ok, np.nan_to_num(rate), np.full(n, -1), np.full(n, -1), no_reasons
        res = known
        if res is None or units is not None:
            res = self.planbook.resolve_pairs(c, p, units, self.engine.tables.pair_orders(c, p))
        rate = np.where(res.eligible, res.rate, np.nan)
        fallback = self.engine.tables.arrays["product_best_rate"][p].astype(np.float64)
        return (
            res.eligible,
            np.where(np.isfinite(rate), rate, np.nan_to_num(fallback)),
            res.plan_row,
            res.plan_type,
            res.reason_codes(),
        )

    def _score(
        self, direction: Direction, c: np.ndarray, p: np.ndarray, fmt: str | None, known: PairResolution | None = None
    ) -> _Scored:
        eligible, rate, plan_row, plan_type, reason = self._resolve(c, p, known=known)
        X = self.engine.tables.vectors(c, p, rate, self._format_codes(c, fmt))
        score = self.engine.rankers[direction].predict(X, num_threads=self._threads)
        fit = self.engine.fit_maps[direction].transform(score)
        return _Scored(direction, c, p, X, score, fit, rate, plan_row, plan_type, eligible, reason)

    def _format_codes(self, c: np.ndarray, fmt: str | None) -> np.ndarray:
        if fmt is not None:
            if fmt not in PROMOTION_FORMATS:
                raise ValueError(f"format must be one of {', '.join(PROMOTION_FORMATS)}, not {fmt!r}")
            return np.full(len(c), PROMOTION_FORMATS.index(fmt))
        return self.engine.tables.arrays["creator_main_format"][c].astype(np.int64)

    def _outcomes(self, s: _Scored, idx: np.ndarray) -> dict[str, np.ndarray]:
        """Predicted GMV/units, tier-projected rate, expected commission and ROI for rows ``idx`` of ``s``."""
        Xf = s.X[idx]
        gmv = np.maximum(self.engine.gmv.predict(Xf, num_threads=self._threads), 0.0)
        units = gmv / np.maximum(self.catalog.product_price[s.p[idx]], 1e-9)
        eligible, rate, plan_row, plan_type, reason = self._resolve(s.c[idx], s.p[idx], units)
        commission = np.asarray(expected_commission(gmv, rate, self._refund[s.p[idx]]))
        return {
            "gmv": gmv,
            "units": units,
            "rate": rate,
            "plan_row": plan_row,
            "plan_type": plan_type,
            "commission": commission,
            "roi": merchant_roi_array(gmv, commission),
            "Xf": Xf,
            "eligible": eligible,
            "reason": np.asarray(reason, dtype=object),
        }

    def _build(
        self, s: _Scored, idx: np.ndarray, out: dict[str, np.ndarray], order_score: np.ndarray
    ) -> list[Recommendation]:
        weight = self.engine.distribution.weight(out["Xf"], num_threads=self._threads)
        reasons = top_reasons(
            self.engine.rankers[s.direction].explain(s.X[idx]), s.X[idx], self.engine.tables.feature_names
        )
        plan_ids = self.planbook.plan_ids if self.planbook is not None else None
        recs = []
        for j, i in enumerate(idx):
            plan_row = int(out["plan_row"][j])
            plan_type = int(out["plan_type"][j])
            roi = float(out["roi"][j])
            recs.append(
                Recommendation(
                    creator_id=self.engine.tables.creators.id(int(s.c[i])),
                    product_id=self.engine.tables.products.id(int(s.p[i])),
                    score=round(float(order_score[j]), 6),
                    fit_score=round(float(s.fit[i]), 4),
                    predicted_gmv=round(float(out["gmv"][j]), 2),
                    predicted_units=round(float(out["units"][j]), 2),
                    distribution_weight=round(float(weight[j]), 4),
                    commission_rate=round(float(out["rate"][j]), 4),
                    plan_id=str(plan_ids[plan_row]) if plan_ids is not None and plan_row >= 0 else None,
                    plan_type=PLAN_TYPES[plan_type] if plan_type >= 0 else None,
                    expected_commission=round(float(out["commission"][j]), 2),
                    merchant_roi=round(roi, 3) if np.isfinite(roi) else None,
                    eligible=bool(out["eligible"][j]),
                    refusal_reason=out["reason"][j],
                    reasons=reasons[j],
                )
            )
        return recs

    # --- admission ----------------------------------------------------------------------------------------

    def creator_refusal(self, creator_id: str) -> str | None:
        """Why a creator gets no product pool at all (a reason code), or None when the creator is admitted."""
        c = self._creator_row(creator_id)
        return self.planbook.creator_refusal(c) if self.planbook is not None else None

    def product_refusal(self, product_id: str) -> str | None:
        """Why a product is never recommended (its merchant's admission), or None."""
        p = self._product_row(product_id)
        return self.planbook.product_refusal(p) if self.planbook is not None else None

    # --- creator -> products -------------------------------------------------------------------------------

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

    def recommend_products(
        self, creator_id: str, k: int = 20, filters: ProductFilters = ProductFilters(), offset: int = 0
    ) -> list[Recommendation]:
        """The creator's product pool: joinable products ranked by a blend of fit and expected earnings."""
        c = self._creator_row(creator_id)
        static = self.candidates.product_filter(filters.category)
        rows, known = self.candidates.find_resolved("creator", c, self.settings.retrieval.candidates, static)
        if len(rows) == 0:
            return []
        s = self._score("creator", np.full(len(rows), c), rows, filters.format, known)
        idx = np.lexsort((s.p, -s.score))[: max(RERANK_DEPTH, offset + k)]
        out = self._outcomes(s, idx)
        keep = out["eligible"] if self.planbook is not None else np.ones(len(idx), bool)
        if filters.min_commission is not None:
            keep &= out["rate"] >= filters.min_commission
        blended = blend_fit_and_earnings(s.fit[idx], out["commission"], self.settings.rules.earnings_blend)
        order = [j for j in np.lexsort((s.p[idx], -blended)) if keep[j]][offset : offset + k]
        pick = np.asarray(order, dtype=np.int64)
        sub = {key: value[pick] for key, value in out.items()}
        return self._build(s, idx[pick], sub, blended[pick])

    # --- product / merchant -> creators --------------------------------------------------------------------

    def _creator_filter(self, filters: CreatorFilters) -> np.ndarray | None:
        return self.candidates.creator_filter(filters.fan_tier, filters.region, filters.category)

    def _creators_for(self, p: int, k: int, filters: CreatorFilters, depth: int) -> tuple[_Scored, np.ndarray]:
        found = self.candidates.find_resolved(
            "product", p, self.settings.retrieval.candidates, self._creator_filter(filters)
        )
        s = self._score("product", found[0], np.full(len(found[0]), p), filters.format, found[1])
        return s, np.lexsort((s.c, -s.score))[:depth]

    def recommend_creators(
        self, product_id: str, k: int = 20, filters: CreatorFilters = CreatorFilters(), offset: int = 0
    ) -> list[Recommendation]:
        """Creators for one product, ranked by fit; with predicted GMV and the merchant's expected ROI."""
        p = self._product_row(product_id)
        s, idx = self._creators_for(p, k, filters, offset + k)
        idx = idx[offset : offset + k]
        if len(idx) == 0:
            return []
        return self._build(s, idx, self._outcomes(s, idx), s.score[idx])

    def recommend_creators_for_merchant(
        self,
        merchant_id: str,
        k: int = 20,
        filters: CreatorFilters = CreatorFilters(),
        offset: int = 0,
        max_products: int = 20,
        per_product: int = 200,
    ) -> list[Recommendation]:
        """Shop-level: the best creators across the merchant's top-selling admitted products, each creator listed
        once with the product it fits best. Candidates of all products are scored in one batch."""
        rows = self.catalog.merchant_products(merchant_id)
        if rows is None:
            raise UnknownEntity("merchant", merchant_id)
        if self.planbook is not None:
            rows = rows[self.planbook.admitted_products[rows]]
        gmv90 = self.engine.tables.product[rows, self.engine.tables.product_names.index("p_log_gmv_90d")]
        rows = rows[np.lexsort((rows, -gmv90))][:max_products]
        c_parts, p_parts = [], []
        static = self._creator_filter(filters)
        for p in rows:
            found = self.candidates.find("product", int(p), per_product, static)
            c_parts.append(found)
            p_parts.append(np.full(len(found), p))
        if not c_parts or sum(len(x) for x in c_parts) == 0:
            return []
        s = self._score("product", np.concatenate(c_parts), np.concatenate(p_parts), filters.format)
        by_fit = np.lexsort((s.p, s.c, -s.fit))
        _, first = np.unique(s.c[by_fit], return_index=True)  # each creator's best-fitting product
        best = by_fit[first]
        idx = best[np.lexsort((s.c[best], -s.fit[best]))][offset : offset + k]
        if len(idx) == 0:
            return []
        return self._build(s, idx, self._outcomes(s, idx), s.fit[idx])

    # --- explicit pairs ------------------------------------------------------------------------------------

    def score_pairs(
        self, creator_ids: list[str], product_ids: list[str], fmt: str | None = None
    ) -> list[Recommendation]:
        """Score explicit (creator, product) pairs; ineligible pairs are scored too and carry the refusal reason."""
        c = np.array([self._creator_row(x) for x in creator_ids], dtype=np.int64)
        p = np.array([self._product_row(x) for x in product_ids], dtype=np.int64)
        s = self._score("creator", c, p, fmt)
        idx = np.arange(len(c))
        return self._build(s, idx, self._outcomes(s, idx), s.fit)
