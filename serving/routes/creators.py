"""``GET /v1/creators/{creator_id}/products``: a creator's product pool."""

from __future__ import annotations

from fastapi import APIRouter, Response

from models.matching.notices import pool_notice
from recsys.core.experiments import ExperimentEndpoint
from serving.deps import CreatorIdPath, CreatorSelfDep, ServiceDep, SettingsDep, StateDep
from serving.errors import responses
from serving.pagination import next_cursor
from serving.routes._params import (
    CursorQuery,
    IncludeExistingQuery,
    KQuery,
    ProductFiltersDep,
    check_category,
    page_size,
    start_offset,
)
from serving.schemas import ProductPool
from serving.views import list_notice, list_response, product_items, refusal

router = APIRouter(prefix="/v1/creators", tags=["creators"])


@router.get(
    "/{creator_id}/products",
    response_model=ProductPool,
    summary="A creator's product pool",
    responses=responses(400, 401, 403, 404, 422, 503),
)
async def creator_products(
    creator_id: CreatorIdPath,
    _caller: CreatorSelfDep,
    settings: SettingsDep,
    state: StateDep,
    service: ServiceDep,
    response: Response,
    filters: ProductFiltersDep,
    k: KQuery = None,
    cursor: CursorQuery = None,
    include_existing: IncludeExistingQuery = None,
) -> Response:
    """Products the creator may promote now, best first: the effective plan (exclusive > targeted > public) and
    commission, expected earnings, fit score, distribution weight and the reasons. Only plans offered to this
    creator count; products of merchants who are not admitted never appear. Products the creator already promotes
    only with `include_existing=true`; the order blends capacity-aware value with expected earnings. Filters
    restrict the candidates before the list is ranked and cut into pages, so every page is full while items match;
    an empty page carries a `notice` saying why.

    Who may call: the creator itself (creator key) and the admin."""
    choice = service.experiments.choose(ExperimentEndpoint.CREATOR_PRODUCTS, creator_id, state, response)
    state = choice.state  # an A/B arm serves the whole request (the live state without an experiment)
    size = page_size(k, settings)
    check_category(state, filters.category)
    offset = start_offset(cursor, state, settings)
    recs = state.matcher.creator_pool_page(creator_id, size, filters, offset, include_existing)
    notice = None
    if not recs:
        notice = refusal(state.matcher.creator_refusal(creator_id)) or list_notice(pool_notice(filters, offset))
    service.experiments.served(choice, len(recs))
    return list_response(
        ProductPool,
        response,
        creator_id=creator_id,
        model_run_id=state.run_id,
        items=product_items(state, recs),
        next_cursor=next_cursor(offset, size, len(recs), state.run_id, settings.serving.max_list_depth),
        notice=notice,
        **choice.fields(),
    )
