"""Matcher results -> response models (the only place that knows both).

List endpoints answer with :func:`list_response`: their items are built as plain dicts in the response model's field
order (:func:`product_items`, :func:`creator_items`) and serialized once with orjson, instead of one pydantic
object per item, per interval and per reason that FastAPI would validate again before writing the same JSON (the
profile in bench/PROFILE.md). Items are built column by column from the matcher's :class:`Page` (no
:class:`Recommendation` object per item; the same figures, rounded once in ``page_figures``), or from objects.
The routes still declare the response model, so the OpenAPI schema is unchanged; tests check that these dicts
validate against the models and equal the model path field by field."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import orjson
from fastapi import Response
from pydantic import BaseModel

from models.matching.explain import Reason as MatchReason
from models.matching.matcher import Page, Recommendation
from models.matching.notices import Notice
from models.matching.recommendation import FIELDS
from recsys.core.rules import REASONS
from recsys.core.vocab import FanTier, Vocabulary
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


def fan_tier(state: MatcherState, creator_row: int) -> FanTier:
    return _tier(int(state.bundle.engine.tables.arrays["creator_fan_tier"][creator_row]))


def _tier(code: int) -> FanTier:
    return _TIERS[code] if 0 <= code < len(_TIERS) else _TIERS[0]


# --- list items, column by column ---------------------------------------------------------------------------------

Recs = Page | Sequence[Recommendation]


def _figures(recs: Recs) -> dict[str, list[Any]]:
    """Per :class:`Recommendation` field, the items' values: a page's own columns, or read off the objects."""
    if isinstance(recs, Page):
        return recs.figures()
    return {name: [getattr(rec, name) for rec in recs] for name in FIELDS}


def _finite(values: list[float]) -> list[float]:
    """``_f`` over a column."""
    return [float(v) if math.isfinite(v) else 0.0 for v in values]


def _intervals(low: list[float], high: list[float]) -> list[dict[str, float]]:
    return [{"low": a, "high": b} for a, b in zip(_finite(low), _finite(high), strict=True)]


def _reason_dicts(reasons: list[list[MatchReason]]) -> list[list[dict[str, Any]]]:
    return [
        [{"code": r.code, "params": r.params, "text": r.text, "contribution": r.contribution} for r in item]
        for item in reasons
    ]


def _rows(ids: Vocabulary, rows: list[int], wanted: list[str]) -> list[int]:
    """The id map rows of the items: the row each carries when it is that id's (``creator_row`` /
    ``product_row``; -1 when it carries none), else looked up by id."""
    size, out = len(ids), []
    for row, entity in zip(rows, wanted, strict=True):
        out.append(row if 0 <= row < size and ids.id(row) == entity else ids.row(entity))
    return out


def _scores(figures: dict[str, list[Any]], horizon_days: int) -> dict[str, list[Any]]:
    """The columns every list item shares (money and scores), as plain values."""
    return {
        "horizon_days": [horizon_days] * len(figures["product_id"]),
        "predicted_gmv": _finite(figures["predicted_gmv"]),
        "predicted_gmv_interval": _intervals(figures["predicted_gmv_low"], figures["predicted_gmv_high"]),
        "predicted_units": _finite(figures["predicted_units"]),
        "predicted_units_interval": _intervals(figures["predicted_units_low"], figures["predicted_units_high"]),
        "predicted_gpm": _finite(figures["predicted_gpm"]),
        "fit_score": _finite(figures["fit_score"]),
        "distribution_weight": _finite(figures["distribution_weight"]),
        "score": _finite(figures["score"]),
        "capacity_price": _finite(figures["capacity_price"]),
        "existing": figures["existing"],
        "creator_capacity_left": figures["creator_capacity_left"],
        "reasons": _reason_dicts(figures["reasons"]),
    }


def _items(model: type[BaseModel], columns: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """One dict per item from aligned columns, keys in ``model``'s field order (its documented order)."""
    keys = tuple(model.model_fields)
    return [dict(zip(keys, values, strict=True)) for values in zip(*(columns[k] for k in keys), strict=True)]


def product_items(state: MatcherState, recs: Recs) -> list[dict[str, Any]]:
    """:class:`ProductRecommendation` items as plain JSON-ready values, in the model's field order."""
    figures = _figures(recs)
    catalog = state.matcher.catalog
    rows = _rows(state.bundle.engine.tables.products, figures["product_row"], figures["product_id"])
    at = np.asarray(rows, dtype=np.int64)
    columns = _scores(figures, _horizon_days(state))
    columns.update(
        product_id=figures["product_id"],
        title=[text(catalog.product_title[row]) for row in rows],
        category=[text(x) for x in catalog.product_category[at].tolist()],
        price=[number(x) for x in catalog.product_price[at].tolist()],
        merchant_id=[text(x) for x in catalog.product_merchant[at].tolist()],
        plan_id=figures["plan_id"],
        plan_type=figures["plan_type"],
        commission_rate=_finite(figures["commission_rate"]),
        expected_earnings=_finite(figures["expected_commission"]),
        expected_earnings_interval=_intervals(figures["expected_commission_low"], figures["expected_commission_high"]),
    )
    return _items(ProductRecommendation, columns)


def creator_items(state: MatcherState, recs: Recs) -> list[dict[str, Any]]:
    """:class:`CreatorRecommendation` items as plain JSON-ready values, in the model's field order."""
    figures = _figures(recs)
    catalog, tables = state.matcher.catalog, state.bundle.engine.tables
    rows = _rows(tables.creators, figures["creator_row"], figures["creator_id"])
    at = np.asarray(rows, dtype=np.int64)
    fulfilment = state.cache.get(SAMPLE_FULFILMENT_KEY, {})
    columns = _scores(figures, _horizon_days(state))
    columns.update(
        creator_id=figures["creator_id"],
        name=[text(catalog.creator_name[row]) for row in rows],
        followers=[int(x) for x in catalog.creator_followers[at].tolist()],
        fan_tier=[_tier(int(x)) for x in tables.arrays["creator_fan_tier"][at].tolist()],
        region=[text(x) for x in catalog.creator_region[at].tolist()],
        product_id=figures["product_id"],
        plan_id=figures["plan_id"],
        plan_type=figures["plan_type"],
        commission_rate=_finite(figures["commission_rate"]),
        expected_commission=_finite(figures["expected_commission"]),
        expected_commission_interval=_intervals(
            figures["expected_commission_low"], figures["expected_commission_high"]
        ),
        sample_cost=_finite(figures["sample_cost"]),
        merchant_roi=figures["merchant_roi"],
        suspected_fake_engagement=figures["suspected_fake_engagement"],
        sample_fulfilment_rate=[fulfilment.get(creator) for creator in figures["creator_id"]],
    )
    return _items(CreatorRecommendation, columns)


def product_fields(state: MatcherState, rec: Recommendation) -> dict[str, Any]:
    """A :class:`ProductRecommendation` as plain JSON-ready values, in the model's field order."""
    return product_items(state, [rec])[0]


def creator_fields(state: MatcherState, rec: Recommendation) -> dict[str, Any]:
    """A :class:`CreatorRecommendation` as plain JSON-ready values, in the model's field order."""
    return creator_items(state, [rec])[0]


def product_item(state: MatcherState, rec: Recommendation) -> ProductRecommendation:
    return ProductRecommendation.model_validate(product_fields(state, rec))


def creator_item(state: MatcherState, rec: Recommendation) -> CreatorRecommendation:
    return CreatorRecommendation.model_validate(creator_fields(state, rec))


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
