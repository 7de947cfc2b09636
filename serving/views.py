"""Matcher results -> response models (the only place that knows both)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from models.matching.matcher import Recommendation
from models.matching.notices import Notice
from recsys.core.rules import REASONS
from recsys.core.vocab import FanTier
from serving.sample_store import SAMPLE_FULFILMENT_KEY
from serving.schemas import CreatorRecommendation, Interval, PairScore, ProductRecommendation, Reason, Refusal
from serving.state import MatcherState

_TIERS = tuple(FanTier)


def text(value: object) -> str:
    """A catalogue cell as text ('' for entities the store no longer has)."""
    return value if isinstance(value, str) else ""


def number(value: object) -> float | None:
    try:
        out = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def _f(value: float) -> float:
    """A finite float for the response (a model NaN would otherwise break the documented schema)."""
    return float(value) if math.isfinite(value) else 0.0


def refusal(code: str | None) -> Refusal | None:
    return None if code is None else Refusal(code=code, message=REASONS.get(code, code))


def list_notice(notice: Notice) -> Refusal:
    """An empty page's notice (no admission rule explains it): a :class:`ListNotice` code and its sentence."""
    return Refusal(code=notice.code.value, message=notice.message)


def _reasons(rec: Recommendation) -> list[Reason]:
    return [Reason(code=r.code, params=r.params, text=r.text, contribution=r.contribution) for r in rec.reasons]


def _interval(low: float, high: float) -> Interval:
    return Interval(low=_f(low), high=_f(high))


def _money(state: MatcherState, rec: Recommendation) -> dict[str, Any]:
    """The horizon, predicted GMV with its interval and expected orders (every item shows them)."""
    calibration = state.bundle.engine.gmv_calibration
    return {
        "horizon_days": calibration.horizon_days if calibration is not None else 30,
        "predicted_gmv": _f(rec.predicted_gmv),
        "predicted_gmv_interval": _interval(rec.predicted_gmv_low, rec.predicted_gmv_high),
        "predicted_units": _f(rec.predicted_units),
        "predicted_units_interval": _interval(rec.predicted_units_low, rec.predicted_units_high),
        "predicted_gpm": _f(rec.predicted_gpm),
    }


def fan_tier(state: MatcherState, creator_row: int) -> FanTier:
    code = int(state.bundle.engine.tables.arrays["creator_fan_tier"][creator_row])
    return _TIERS[code] if 0 <= code < len(_TIERS) else _TIERS[0]


def product_item(state: MatcherState, rec: Recommendation) -> ProductRecommendation:
    catalog = state.matcher.catalog
    row = state.bundle.engine.tables.products.row(rec.product_id)
    return ProductRecommendation(
        product_id=rec.product_id,
        title=text(catalog.product_title[row]),
        category=text(catalog.product_category[row]),
        price=number(catalog.product_price[row]),
        merchant_id=text(catalog.product_merchant[row]),
        plan_id=rec.plan_id,
        plan_type=rec.plan_type,
        commission_rate=_f(rec.commission_rate),
        expected_earnings=_f(rec.expected_commission),
        expected_earnings_interval=_interval(rec.expected_commission_low, rec.expected_commission_high),
        fit_score=_f(rec.fit_score),
        distribution_weight=_f(rec.distribution_weight),
        **_money(state, rec),
        score=_f(rec.score),
        capacity_price=_f(rec.capacity_price),
        existing=rec.existing,
        creator_capacity_left=rec.creator_capacity_left,
        reasons=_reasons(rec),
    )


def creator_item(state: MatcherState, rec: Recommendation) -> CreatorRecommendation:
    catalog = state.matcher.catalog
    row = state.bundle.engine.tables.creators.row(rec.creator_id)
    return CreatorRecommendation(
        creator_id=rec.creator_id,
        name=text(catalog.creator_name[row]),
        followers=int(catalog.creator_followers[row]),
        fan_tier=fan_tier(state, row),
        region=text(catalog.creator_region[row]),
        product_id=rec.product_id,
        plan_id=rec.plan_id,
        plan_type=rec.plan_type,
        commission_rate=_f(rec.commission_rate),
        expected_commission=_f(rec.expected_commission),
        expected_commission_interval=_interval(rec.expected_commission_low, rec.expected_commission_high),
        sample_cost=_f(rec.sample_cost),
        merchant_roi=rec.merchant_roi,
        suspected_fake_engagement=rec.suspected_fake_engagement,
        sample_fulfilment_rate=state.cache.get(SAMPLE_FULFILMENT_KEY, {}).get(rec.creator_id),
        fit_score=_f(rec.fit_score),
        distribution_weight=_f(rec.distribution_weight),
        **_money(state, rec),
        score=_f(rec.score),
        capacity_price=_f(rec.capacity_price),
        existing=rec.existing,
        creator_capacity_left=rec.creator_capacity_left,
        reasons=_reasons(rec),
    )


def pair_item(state: MatcherState, rec: Recommendation) -> PairScore:
    return PairScore(
        creator_id=rec.creator_id,
        product_id=rec.product_id,
        eligible=rec.eligible,
        refusal=refusal(rec.refusal_reason) if not rec.eligible else None,
        plan_id=rec.plan_id if rec.eligible else None,
        plan_type=rec.plan_type if rec.eligible else None,
        commission_rate=_f(rec.commission_rate),
        expected_commission=_f(rec.expected_commission),
        expected_commission_interval=_interval(rec.expected_commission_low, rec.expected_commission_high),
        sample_cost=_f(rec.sample_cost),
        merchant_roi=rec.merchant_roi,
        suspected_fake_engagement=rec.suspected_fake_engagement,
        fit_score=_f(rec.fit_score),
        distribution_weight=_f(rec.distribution_weight),
        **_money(state, rec),
        reasons=_reasons(rec),
    )


def finite(values: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(values), values, 0.0)
