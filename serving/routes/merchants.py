"""``GET /v1/merchants/{merchant_id}/creators`` (shop-level creators) and ``GET /v1/merchants/{merchant_id}/plans``."""

from __future__ import annotations

from fastapi import APIRouter, Response

from models.matching.matcher import Page, UnknownEntity
from models.matching.notices import merchant_creators_notice
from recsys.core.experiments import ExperimentEndpoint
from recsys.core.vocab import CreatorSort
from serving import plan_store
from serving.deps import ClockDep, MerchantIdPath, MerchantSelfDep, ServiceDep, SettingsDep, StateDep
from serving.errors import not_found, responses
from serving.pagination import next_cursor
from serving.routes._params import (
    CreatorFiltersDep,
    CursorQuery,
    IncludeExistingQuery,
    KQuery,
    SortQuery,
    check_category,
    page_size,
    start_offset,
)
from serving.schemas import CreatorList, PlanList
from serving.views import creator_items, list_notice, list_response

router = APIRouter(prefix="/v1/merchants", tags=["merchants"])


@router.get(
    "/{merchant_id}/creators",
    response_model=CreatorList,
    summary="Creators for a merchant's shop",
    responses=responses(400, 401, 403, 404, 422, 503),
)
async def merchant_creators(
    merchant_id: MerchantIdPath,
    _caller: MerchantSelfDep,
    settings: SettingsDep,
    state: StateDep,
    service: ServiceDep,
    response: Response,
    filters: CreatorFiltersDep,
    k: KQuery = None,
    cursor: CursorQuery = None,
    include_existing: IncludeExistingQuery = None,
    sort: SortQuery = CreatorSort.FIT,
) -> Response:
    """The best creators across the merchant's top-selling admitted products, each creator once with the product
    it fits best (`product_id`), ranked by capacity-aware value; predicted GMV, commission cost, ROI and reasons.
    Creators already promoting that product only with `include_existing=true`.

    Who may call: the merchant itself and the admin."""
    choice = service.experiments.choose(ExperimentEndpoint.MERCHANT_CREATORS, merchant_id, state, response)
    state = choice.state  # an A/B arm serves the whole request (the live state without an experiment)
    size = page_size(k, settings)
    check_category(state, filters.category)
    offset = start_offset(cursor, state, settings)
    try:
        recs = state.matcher.merchant_creators_page(
            merchant_id, size, filters, offset, include_existing=include_existing, sort=sort
        )
    except UnknownEntity:
        if merchant_id not in state.merchant_ids:
            raise not_found("merchant", merchant_id) from None
        recs = Page()  # a known merchant without products in the model
    service.experiments.served(choice, len(recs))
    return list_response(
        CreatorList,
        response,
        merchant_id=merchant_id,
        model_run_id=state.run_id,
        items=creator_items(state, recs),
        next_cursor=next_cursor(offset, size, len(recs), state.run_id, settings.serving.max_list_depth),
        notice=None if recs else list_notice(merchant_creators_notice(state.matcher, merchant_id, filters, offset)),
        **choice.fields(),
    )


@router.get(
    "/{merchant_id}/plans",
    response_model=PlanList,
    summary="A merchant's plans",
    responses=responses(401, 403, 404, 422),
)
def merchant_plans(
    merchant_id: MerchantIdPath, _caller: MerchantSelfDep, service: ServiceDep, clock: ClockDep
) -> PlanList:
    """Every plan of the merchant's products (owner view), ordered by plan id.

    Who may call: the merchant itself and the admin."""
    if not plan_store.merchant_exists(service.store, merchant_id):
        raise not_found("merchant", merchant_id)
    now = clock()
    records = plan_store.merchant_plans(service.store, merchant_id)
    return PlanList(
        merchant_id=merchant_id,
        items=[plan_store.public_view(r, merchant_id, now, owner=True) for r in records],
    )
