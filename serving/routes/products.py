"""``GET /v1/products/{product_id}/creators``: creators for one of the merchant's products."""

from __future__ import annotations

from fastapi import APIRouter, Response

from models.matching.matcher import UnknownEntity
from models.matching.notices import product_creators_notice
from recsys.core.experiments import ExperimentEndpoint
from recsys.core.vocab import CreatorSort
from serving.auth import require_product_owner
from serving.deps import PrincipalDep, ProductIdPath, ServiceDep, SettingsDep, StateDep
from serving.errors import responses
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
from serving.schemas import CreatorList
from serving.state import MatcherState
from serving.views import creator_items, list_notice, list_response, refusal, text

router = APIRouter(prefix="/v1/products", tags=["products"])


def product_merchant(state: MatcherState, product_id: str) -> str | None:
    """The product's merchant; 404 for a product the model does not know."""
    tables = state.bundle.engine.tables
    if product_id not in tables.products:
        raise UnknownEntity("product", product_id)
    return text(state.matcher.catalog.product_merchant[tables.products.row(product_id)]) or None


@router.get(
    "/{product_id}/creators",
    response_model=CreatorList,
    summary="Creators for a product",
    responses=responses(400, 401, 403, 404, 422, 503),
)
async def product_creators(
    product_id: ProductIdPath,
    principal: PrincipalDep,
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
    """New creators for this product, ranked by capacity-aware value (predicted GMV net of the creator's
    congestion price, with exposure controls; see docs/matching.md), with predicted GMV, the commission the merchant
    would pay, its expected ROI, distribution weight and reasons. Only creators the product's plans and creator
    admission allow; creators already promoting the product only with `include_existing=true`.
    `category` keeps creators who list that content category. Filters restrict the candidates before the list
    is ranked and cut into pages, so every page is full while creators match; an empty page carries a `notice`.

    Who may call: the product's merchant and the admin."""
    owner = product_merchant(state, product_id)
    require_product_owner(principal, product_id, owner)
    choice = service.experiments.choose(ExperimentEndpoint.PRODUCT_CREATORS, owner or product_id, state, response)
    state = choice.state  # an A/B arm serves the whole request (the live state without an experiment)
    size = page_size(k, settings)
    check_category(state, filters.category)
    offset = start_offset(cursor, state, settings)
    recs = state.matcher.product_creators_page(product_id, size, filters, offset, include_existing, sort)
    notice = None
    if not recs:
        notice = refusal(state.matcher.product_refusal(product_id)) or list_notice(
            product_creators_notice(state.matcher, product_id, filters, offset)
        )
    service.experiments.served(choice, len(recs))
    return list_response(
        CreatorList,
        response,
        product_id=product_id,
        model_run_id=state.run_id,
        items=creator_items(state, recs),
        next_cursor=next_cursor(offset, size, len(recs), state.run_id, settings.serving.max_list_depth),
        notice=notice,
        **choice.fields(),
    )
