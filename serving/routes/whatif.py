"""``POST /v1/products/{product_id}/what-if``: the product's place in creators' pools, and the money, at another rate.

The domain work is :mod:`models.matching.whatif`; this route picks the plan, checks the proposal with the plan rules
(exactly as a ``PATCH /v1/plans/{id}`` would, same reason codes) and builds a private matcher with the proposed plan —
the store, the live state and its caches are only read.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
from fastapi import APIRouter

from models.matching import whatif
from models.matching.matcher import Recommendation
from recsys.core.schema import TABLES
from recsys.core.store import records_to_frame
from serving import plan_store
from serving.auth import require_product_owner
from serving.deps import ClockDep, PrincipalDep, ProductIdPath, ServiceDep, StateDep
from serving.errors import ApiError, responses
from serving.routes.products import product_merchant
from serving.schemas.whatif import WhatIfCreator, WhatIfRequest, WhatIfResult, WhatIfSummary

router = APIRouter(prefix="/v1/products", tags=["products"])

_PUBLIC_TYPES = ("open", "tiered")


def _field_error(code: str, message: str, field: str) -> ApiError:
    return ApiError(422, code, f"body.{field}: {message}", [{"loc": ["body", field], "msg": message, "type": code}])


def _default_plan(service: Any, product_id: str, merchant: str | None, recs: list[Recommendation]) -> str:
    """The plan most of the examined creators would join today (ties: the smallest id); without any, the product's
    first public plan by id."""
    joined = Counter(r.plan_id for r in recs if r.plan_id is not None)
    if joined:
        top = max(joined.values())
        return min(p for p, n in joined.items() if n == top)
    plans = [p for p in plan_store.merchant_plans(service.store, merchant or "") if p["product_id"] == product_id]
    public = sorted(p["plan_id"] for p in plans if p["plan_type"] in _PUBLIC_TYPES)
    if not public:
        raise _field_error("whatif_no_plan", f"product {product_id!r} has no public plan to vary; name one", "plan_id")
    return str(public[0])


def _plan(service: Any, product_id: str, plan_id: str) -> dict[str, Any]:
    plan = plan_store.load_plan(service.store, plan_id)
    if plan is None or plan["product_id"] != product_id:
        raise _field_error("whatif_plan_unknown", f"product {product_id!r} has no plan {plan_id!r}", "plan_id")
    return plan


def _proposed(service: Any, old: dict[str, Any], body: WhatIfRequest, now: Any) -> dict[str, Any]:
    """The plan with the proposed terms, checked by the plan rules as an edit at ``now`` would be (422
    ``plan_refused`` with the same reason codes, each naming the field it is about)."""
    new = dict(old)
    if body.rate is not None:
        new["commission_rate"] = body.rate
    if body.tiers is not None:
        new["tiers"] = [[float(t.min_amount), float(t.rate)] for t in body.tiers]
    try:
        plan_store.check_plan(service.store, new, service.settings, old, now)
    except ApiError as refused:
        for detail in refused.details:
            detail["loc"] = ["body", "tiers" if "tier" in str(detail.get("code", "")) else "rate"]
        fields = sorted({".".join(d["loc"]) for d in refused.details})
        refused.message = f"{', '.join(fields)}: {refused.message}"
        raise
    return new


def _creator_items(
    recs: list[Recommendation],
    places: np.ndarray,
    today: whatif.PairMoney,
    proposed: whatif.PairMoney,
) -> list[WhatIfCreator]:
    def rank(value: int) -> int | None:
        return None if value == whatif.NOT_IN_POOL else int(value)

    return [
        WhatIfCreator(
            creator_id=r.creator_id,
            rank_today=rank(places[i, 0]),
            rank_proposed=rank(places[i, 1]),
            commission_rate_today=round(float(today.rate[i]), 4),
            commission_rate_proposed=round(float(proposed.rate[i]), 4),
            expected_gmv_today=round(float(today.gmv[i]), 2),
            expected_gmv_proposed=round(float(proposed.gmv[i]), 2),
            expected_orders_today=round(float(today.orders[i]), 2),
            expected_orders_proposed=round(float(proposed.orders[i]), 2),
            commission_cost_today=round(float(today.commission[i]), 2),
            commission_cost_proposed=round(float(proposed.commission[i]), 2),
        )
        for i, r in enumerate(recs)
    ]


def _summary(s: whatif.WhatIfSummary) -> WhatIfSummary:
    return WhatIfSummary(
        creators=s.creators,
        in_pool_today=s.in_pool_today,
        in_pool_proposed=s.in_pool_proposed,
        improves=s.improves,
        worsens=s.worsens,
        unchanged=s.unchanged,
        median_rank_today=s.median_rank_today,
        median_rank_proposed=s.median_rank_proposed,
        expected_gmv_today=s.gmv_today,
        expected_gmv_proposed=s.gmv_proposed,
        gmv_change_pct=s.gmv_change_pct,
        commission_cost_today=s.cost_today,
        commission_cost_proposed=s.cost_proposed,
        cost_change_pct=s.cost_change_pct,
        text=s.text,
    )


@router.post(
    "/{product_id}/what-if",
    response_model=WhatIfResult,
    summary="Commission what-if",
    responses=responses(401, 403, 404, 422, 503),
)
def commission_what_if(
    product_id: ProductIdPath,
    body: WhatIfRequest,
    principal: PrincipalDep,
    service: ServiceDep,
    state: StateDep,
    clock: ClockDep,
) -> WhatIfResult:
    """What a proposed commission would do, computed with the live models and rules; nothing is changed. For the
    top `top_n` creators of the product's creator list (as `GET /v1/products/{id}/creators` shows it): the
    product's place in each creator's pool today and at the proposed rate, and the pair's expected GMV, orders and
    commission cost both ways; a summary with the counts of places that improve or worsen, the median place, the
    GMV and cost change, and a sentence. The proposal is checked like a plan edit (same reason codes: a launched
    plan's commission may only rise). `plan_id` defaults to the plan most of those creators would join today.

    Who may call: the product's merchant and the admin."""
    merchant = product_merchant(state, product_id)
    require_product_owner(principal, product_id, merchant)
    matcher = state.matcher
    recs = matcher.recommend_creators(product_id, body.top_n)
    old = _plan(service, product_id, body.plan_id or _default_plan(service, product_id, merchant, recs))
    new = _proposed(service, old, body, clock())
    try:
        proposed = whatif.with_plans(matcher, records_to_frame(TABLES["plans"], [dict(new)]))
    except ValueError as exc:  # a term the rules accepted but the plan index cannot read: the edit would fail too
        raise _field_error("plan_refused", str(exc), "rate") from None
    product_row = state.bundle.engine.tables.products.row(product_id)
    creator_rows = [r.creator_row for r in recs]
    result = whatif.what_if(matcher, proposed, product_row, creator_rows)
    places, money_today, money_proposed = result.places, result.today, result.proposed
    tiers_today = [[float(m), float(r)] for m, r in old.get("tiers") or []]
    tiers_proposed = [[float(m), float(r)] for m, r in new.get("tiers") or []]
    label = whatif.change_label(
        float(old["commission_rate"]), float(new["commission_rate"]), tiers_today != tiers_proposed
    )
    return WhatIfResult(
        product_id=product_id,
        plan_id=str(old["plan_id"]),
        model_run_id=state.run_id,
        rate_today=float(old["commission_rate"]),
        rate_proposed=float(new["commission_rate"]),
        tiers_today=tiers_today,
        tiers_proposed=tiers_proposed,
        summary=_summary(whatif.summarise(places, money_today, money_proposed, label)),
        creators=_creator_items(recs, places, money_today, money_proposed),
    )
