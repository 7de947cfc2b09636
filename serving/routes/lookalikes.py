"""Lookalike creators: ``GET /v1/creators/{creator_id}/similar`` (相似达人) and
``GET /v1/merchants/{merchant_id}/lookalikes`` (creators like the merchant's best performers).

Both list admitted creators only (the plan book's admission, as every list), from the retrieval vectors
(:mod:`models.matching.lookalikes`). The lookalike index is built once per matcher state and kept in its cache.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from fastapi import APIRouter, Depends, Query

from models.matching.lookalikes import LookalikeIndex, Lookalikes, best_performers, main_category
from recsys.core.vocab import Role
from serving import after_match_store, plan_store
from serving.auth import Principal
from serving.deps import (
    CreatorIdPath,
    MerchantIdPath,
    MerchantSelfDep,
    PrincipalDep,
    ServiceDep,
    SettingsDep,
    StateDep,
)
from serving.errors import forbidden, not_found, responses
from serving.routes._params import KQuery, page_size
from serving.schemas.after_match import LookalikeCreator, MerchantLookalikes, SimilarCreators, TopPerformer
from serving.state import MatcherState
from serving.views import fan_tier, text

creators_router = APIRouter(prefix="/v1/creators", tags=["creators"])
merchants_router = APIRouter(prefix="/v1/merchants", tags=["merchants"])

LOOKALIKE_INDEX_KEY = "lookalike_index"
MinViewsQuery = Annotated[
    int | None,
    Query(
        ge=0,
        le=10**12,
        description="Views a creator needs with the merchant to count as a performer "
        "(default: rules.stop_loss_min_views).",
    ),
]
PerformersQuery = Annotated[int, Query(ge=1, le=20, description="How many top performers to find lookalikes of.")]


async def similar_reader(creator_id: CreatorIdPath, principal: PrincipalDep) -> Principal:
    """Admin and merchant keys may ask for any creator's lookalikes; a creator key only for its own."""
    if principal.is_admin or principal.role is Role.MERCHANT or principal.is_creator(creator_id):
        return principal
    raise forbidden(f"a creator key may only ask for creators like itself; this key belongs to {principal.tenant_id!r}")


SimilarReaderDep = Annotated[Principal, Depends(similar_reader)]


def lookalike_index(state: MatcherState) -> LookalikeIndex:
    """The state's lookalike index (built on first use; a new state builds its own)."""
    index = state.cache.get(LOOKALIKE_INDEX_KEY)
    retriever = state.bundle.engine.retriever
    if not isinstance(index, LookalikeIndex) or index.n_rows != len(retriever.creator_vectors):
        index = LookalikeIndex(retriever)
        state.cache[LOOKALIKE_INDEX_KEY] = index
    return index


def admitted(state: MatcherState) -> np.ndarray:
    book = state.matcher.planbook
    n = len(state.bundle.engine.tables.creators)
    return np.asarray(book.admitted_creators, dtype=bool) if book is not None else np.ones(n, bool)


def items(state: MatcherState, found: Lookalikes, seed_gpm: dict[int, float] | None = None) -> list[LookalikeCreator]:
    tables, catalog = state.bundle.engine.tables, state.matcher.catalog
    rows = found.rows
    categories = main_category(tables.arrays["creator_category_listed"][rows], list(tables.categories))
    suspected = state.matcher.market.suspected(rows)
    out = []
    for j, row in enumerate(rows.tolist()):
        seed = int(found.seed[j])
        out.append(
            LookalikeCreator(
                creator_id=tables.creators.id(row),
                name=text(catalog.creator_name[row]),
                similarity=round(float(found.similarity[j]), 4),
                fan_tier=fan_tier(state, row),
                followers=int(catalog.creator_followers[row]),
                main_category=categories[j],
                region=text(catalog.creator_region[row]),
                suspected_fake_engagement=bool(suspected[j]),
                resembles=tables.creators.id(seed) if seed_gpm is not None else None,
                resembles_gpm=round(seed_gpm[seed], 2) if seed_gpm is not None else None,
            )
        )
    return out


@creators_router.get(
    "/{creator_id}/similar",
    response_model=SimilarCreators,
    summary="Creators like this one (相似达人)",
    responses=responses(401, 403, 404, 422, 503),
)
def similar_creators(
    creator_id: CreatorIdPath, _caller: SimilarReaderDep, settings: SettingsDep, state: StateDep, k: KQuery = None
) -> SimilarCreators:
    """The `k` admitted creators nearest to this one by their retrieval vectors (cosine, dimensions weighted as the
    ranker weighs them; the creator itself left out), with similarity, fan tier, main category and followers.

    Who may call: the admin and any merchant key; a creator key only for itself."""
    size = page_size(k, settings)
    tables = state.bundle.engine.tables
    if creator_id not in tables.creators:
        raise not_found("creator", creator_id)
    found = lookalike_index(state).similar(tables.creators.row(creator_id), size, admitted(state))
    return SimilarCreators(creator_id=creator_id, model_run_id=state.run_id, items=items(state, found))


@merchants_router.get(
    "/{merchant_id}/lookalikes",
    response_model=MerchantLookalikes,
    summary="Creators like a merchant's best performers",
    responses=responses(401, 403, 404, 422, 503),
)
def merchant_lookalikes(
    merchant_id: MerchantIdPath,
    _caller: MerchantSelfDep,
    service: ServiceDep,
    settings: SettingsDep,
    state: StateDep,
    k: KQuery = None,
    min_views: MinViewsQuery = None,
    performers: PerformersQuery = 5,
) -> MerchantLookalikes:
    """The merchant's best performers — creators with the highest realized GPM over its products' promotions,
    among those with at least `min_views` views — and the `k` admitted creators most like any of them, leaving out
    every creator the merchant already works with (a promotion of its products or an accepted invitation). Each
    item names the performer it resembles most.

    Who may call: the merchant itself and the admin."""
    size = page_size(k, settings)
    if not plan_store.merchant_exists(service.store, merchant_id):
        raise not_found("merchant", merchant_id)
    threshold = settings.rules.stop_loss_min_views if min_views is None else min_views
    tables = state.bundle.engine.tables
    promotions = after_match_store.merchant_promotions(service.store, merchant_id)
    best = best_performers(
        tables.creators.rows(promotions["creator_id"].astype(str)),
        promotions["views"].to_numpy(),
        promotions["gmv"].to_numpy(),
        threshold,
        performers,
    )
    partners = after_match_store.merchant_partners(service.store, merchant_id)
    allowed = admitted(state)
    partner_rows = tables.creators.rows(sorted(partners))
    partner_rows = partner_rows[partner_rows >= 0]
    excluded = int(allowed[partner_rows].sum())
    allowed = allowed.copy()
    allowed[partner_rows] = False
    found = (
        lookalike_index(state).like_any(best.rows, size, allowed)
        if len(best.rows)
        else Lookalikes(np.empty(0, np.int64), np.empty(0), np.empty(0, np.int64))
    )
    seed_gpm = {int(r): float(g) for r, g in zip(best.rows, best.gpm, strict=True)}
    return MerchantLookalikes(
        merchant_id=merchant_id,
        model_run_id=state.run_id,
        min_views=threshold,
        top_performers=[
            TopPerformer(
                creator_id=tables.creators.id(int(r)),
                views=int(v),
                realized_gmv=round(float(g), 2),
                realized_gpm=round(float(x), 2),
            )
            for r, v, g, x in zip(best.rows, best.views, best.gmv, best.gpm, strict=True)
        ],
        excluded_partners=excluded,
        items=items(state, found, seed_gpm),
    )
