"""``GET /v1/rankings/{kind}``: public hot lists."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from serving.deps import PrincipalDep, SettingsDep, StateDep
from serving.errors import responses
from serving.rankings import ranking
from serving.routes._params import CategoryQuery, KQuery, check_category, page_size
from serving.schemas import Ranking, RankingKind

router = APIRouter(prefix="/v1/rankings", tags=["rankings"])


@router.get(
    "/{kind}",
    response_model=Ranking,
    summary="Hot lists",
    responses=responses(401, 422, 503),
)
async def get_ranking(
    kind: Annotated[RankingKind, Path(description="top-creators, new-hits or commission-picks.")],
    _caller: PrincipalDep,
    settings: SettingsDep,
    state: StateDep,
    category: CategoryQuery = None,
    k: KQuery = None,
) -> Ranking:
    """`top-creators`: creators by GMV over the last 30 days (with `category`: creators listing that content
    category). `new-hits`: recently listed products (within `serving.new_hit_days`) with the highest 30-day GMV.
    `commission-picks`: products with the best public commission open now. Product lists only hold admitted
    merchants' products with a public plan; no exclusive or targeted terms ever appear.

    Who may call: any valid key (merchants, creators, admin) — the lists are public information."""
    size = page_size(k, settings)
    check_category(state, category)
    items = ranking(state, kind, category, settings)[:size]
    return Ranking(kind=kind, category=category, model_run_id=state.run_id, items=items)
