"""``GET /v1/creators/{creator_id}/gmv-trend``: a creator's daily GMV over the last days (the console's chart).

Read straight from the store (:mod:`serving.trend_store`), so it needs no model and shows promotions accepted as
events at once. What a merchant looks at when choosing creators, so any merchant may read it, like the creator
search data; a creator only its own.
"""

from __future__ import annotations

from datetime import UTC
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from recsys.core.vocab import Role
from serving.auth import Principal
from serving.deps import ClockDep, CreatorIdPath, PrincipalDep, ServiceDep
from serving.errors import forbidden, not_found, responses
from serving.schemas.trend import GmvTrend, TrendPoint
from serving.trend_store import creator_exists, daily_trend, window

router = APIRouter(prefix="/v1/creators", tags=["creators"])

MIN_DAYS, MAX_DAYS, DEFAULT_DAYS = 7, 365, 90
DaysQuery = Annotated[
    int,
    Query(ge=MIN_DAYS, le=MAX_DAYS, description=f"Days in the series, today included ({MIN_DAYS}–{MAX_DAYS})."),
]


async def trend_reader(creator_id: CreatorIdPath, principal: PrincipalDep) -> Principal:
    """Admin and merchant keys may read any creator's trend; a creator key only its own."""
    if principal.is_admin or principal.role is Role.MERCHANT or principal.is_creator(creator_id):
        return principal
    raise forbidden(f"a creator key may only read its own GMV trend; this key belongs to {principal.tenant_id!r}")


TrendReaderDep = Annotated[Principal, Depends(trend_reader)]


@router.get(
    "/{creator_id}/gmv-trend",
    response_model=GmvTrend,
    summary="A creator's daily GMV trend",
    responses=responses(401, 403, 404, 422),
)
def creator_gmv_trend(
    creator_id: CreatorIdPath,
    _reader: TrendReaderDep,
    service: ServiceDep,
    clock: ClockDep,
    days: DaysQuery = DEFAULT_DAYS,
) -> GmvTrend:
    """The creator's GMV, orders and promotions started, per UTC day over the last `days` days (today
    included, every day listed). Each promotion's whole GMV and orders count on the day it **started**
    (`started_at`): the store keeps a promotion's totals, not per-day sales. Promotions accepted through
    `POST /v1/events` count as soon as their batch is acknowledged.

    Who may call: the admin, any merchant (as for creator search), and the creator itself."""
    store = service.store
    if not creator_exists(store, creator_id):
        raise not_found("creator", creator_id)
    now = clock()
    first, last = window(now, days)
    series = daily_trend(store, creator_id, first, last)
    return GmvTrend(
        creator_id=creator_id,
        days=days,
        start=first,
        end=last,
        as_of=now.replace(tzinfo=UTC) if now.tzinfo is None else now,
        attribution="started_at",
        total_gmv=round(sum(d.gmv for d in series), 2),
        total_orders=sum(d.orders for d in series),
        total_promotions=sum(d.promotions for d in series),
        points=[TrendPoint(date=d.day, gmv=d.gmv, orders=d.orders, promotions=d.promotions) for d in series],
    )
