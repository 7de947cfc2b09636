"""Matcher results -> response models (the only place that knows both).

List endpoints answer with :func:`list_response`: their items are built as plain dicts in the response model's field
order (:func:`product_fields`, :func:`creator_fields`) and serialized once with orjson, instead of one pydantic
object per item, per interval and per reason that FastAPI would validate again before writing the same JSON (the
profile in bench/PROFILE.md). The routes still declare the response model, so the OpenAPI schema is unchanged;
tests check that these dicts validate against the models and equal the model path field by field."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import orjson
from fastapi import Response
from pydantic import BaseModel

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


def _reason_dicts(rec: Recommendation) -> list[dict[str, Any]]:
    return [{"code": r.code, "params": r.params, "text": r.text, "contribution": r.contribution} for r in rec.reasons]


def _interval_dict(low: float, high: float) -> dict[str, float]:
    return {"low": _f(low), "high": _f(high)}


def _horizon_days(state: MatcherState) -> int:
    calibration = state.bundle.engine.gmv_calibration
    return calibration.horizon_days if calibration is not None else 30


def _money(state: MatcherState, rec: Recommendation) -> dict[str, Any]:
    """The horizon, predicted GMV with its interval and expected orders (every item shows them)."""
    return {
        "horizon_days": _horizon_days(state),
        "predicted_gmv": _f(rec.predicted_gmv),
        "predicted_gmv_interval": _interval(rec.predicted_gmv_low, rec.predicted_gmv_high),
        "predicted_units": _f(rec.predicted_units),
        "predicted_units_interval": _interval(rec.predicted_units_low, rec.predicted_units_high),
        "predicted_gpm": _f(rec.predicted_gpm),
    }


def _scores(rec: Recommendation, horizon_days: int) -> dict[str, Any]:
    """The fields every list item shares (money and scores), as plain values in the response model's order."""
    return {
        "horizon_days": horizon_days,
        "predicted_gmv": _f(rec.predicted_gmv),
        "predicted_gmv_interval": _interval_dict(rec.predicted_gmv_low, rec.predicted_gmv_high),
        "predicted_units": _f(rec.predicted_units),
        "predicted_units_interval": _interval_dict(rec.predicted_units_low, rec.predicted_units_high),
        "predicted_gpm": _f(rec.predicted_gpm),
        "fit_score": _f(rec.fit_score),
        "distribution_weight": _f(rec.distribution_weight),
        "score": _f(rec.score),
        "capacity_price": _f(rec.capacity_price),
        "existing": rec.existing,
        "creator_capacity_left": rec.creator_capacity_left,
        "reasons": _reason_dicts(rec),
    }


def fan_tier(state: MatcherState, creator_row: int) -> FanTier:
    code = int(state.bundle.engine.tables.arrays["creator_fan_tier"][creator_row])
    return _TIERS[code] if 0 <= code < len(_TIERS) else _TIERS[0]


def _entity_row(rec_row: int, size: int) -> int | None:
    """The id map row a recommendation carries (``creator_row`` / ``product_row``), or None when it carries none."""
    return rec_row if 0 <= rec_row < size else None


def product_fields(state: MatcherState, rec: Recommendation, horizon_days: int | None = None) -> dict[str, Any]:
    """A :class:`ProductRecommendation` as plain JSON-ready values, in the model's field order."""
    catalog, products = state.matcher.catalog, state.bundle.engine.tables.products
    row = _entity_row(rec.product_row, len(products))
    if row is None or products.id(row) != rec.product_id:
        row = products.row(rec.product_id)
    out = _scores(rec, _horizon_days(state) if horizon_days is None else horizon_days)
    out.update(
        product_id=rec.product_id,
        title=text(catalog.product_title[row]),
        category=text(catalog.product_category[row]),
        price=number(catalog.product_price[row]),
        merchant_id=text(catalog.product_merchant[row]),
        plan_id=rec.plan_id,
        plan_type=rec.plan_type,
        commission_rate=_f(rec.commission_rate),
        expected_earnings=_f(rec.expected_commission),
        expected_earnings_interval=_interval_dict(rec.expected_commission_low, rec.expected_commission_high),
    )
    return out


def creator_fields(state: MatcherState, rec: Recommendation, horizon_days: int | None = None) -> dict[str, Any]:
    """A :class:`CreatorRecommendation` as plain JSON-ready values, in the model's field order."""
    catalog, creators = state.matcher.catalog, state.bundle.engine.tables.creators
    row = _entity_row(rec.creator_row, len(creators))
    if row is None or creators.id(row) != rec.creator_id:
        row = creators.row(rec.creator_id)
    out = _scores(rec, _horizon_days(state) if horizon_days is None else horizon_days)
    out.update(
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
        expected_commission_interval=_interval_dict(rec.expected_commission_low, rec.expected_commission_high),
        sample_cost=_f(rec.sample_cost),
        merchant_roi=rec.merchant_roi,
        suspected_fake_engagement=rec.suspected_fake_engagement,
        sample_fulfilment_rate=state.cache.get(SAMPLE_FULFILMENT_KEY, {}).get(rec.creator_id),
    )
    return out


def product_item(state: MatcherState, rec: Recommendation) -> ProductRecommendation:
    return ProductRecommendation.model_validate(product_fields(state, rec))


def creator_item(state: MatcherState, rec: Recommendation) -> CreatorRecommendation:
    return CreatorRecommendation.model_validate(creator_fields(state, rec))


def product_items(state: MatcherState, recs: list[Recommendation]) -> list[dict[str, Any]]:
    horizon = _horizon_days(state)
    return [product_fields(state, r, horizon) for r in recs]


def creator_items(state: MatcherState, recs: list[Recommendation]) -> list[dict[str, Any]]:
    horizon = _horizon_days(state)
    return [creator_fields(state, r, horizon) for r in recs]


def list_response(model: type[BaseModel], response: Response, **fields: Any) -> Response:
    """A list page's JSON from plain values, keys in ``model``'s field order (the route still declares ``model``
    for the OpenAPI schema; returning a response skips FastAPI's second validation of what is built here). Headers
    set on the route's ``response`` (e.g. the A/B arm) are kept, as FastAPI would keep them."""
    unknown = fields.keys() - model.model_fields.keys()
    if unknown:
        raise TypeError(f"{model.__name__} has no field(s) {sorted(unknown)}")
    body = {
        name: _plain(fields[name]) if name in fields else info.get_default(call_default_factory=True)
        for name, info in model.model_fields.items()
    }
    out = Response(orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY), media_type="application/json")
    out.headers.raw.extend(response.headers.raw)
    return out


def _plain(value: Any) -> Any:
    """A pydantic object (a page's notice) as its JSON-mode dict; anything else as it is."""
    return value.model_dump(mode="json") if isinstance(value, BaseModel) else value


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
