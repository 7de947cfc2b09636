"""``GET /v1/creators/{id}/sample-requests`` and ``GET /v1/merchants/{id}/sample-requests``: the lists the
creator's and the merchant's sample pages show (the workflow itself is in :mod:`serving.routes.samples`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from recsys.core.store import Store
from serving.console_store import list_sample_requests
from serving.deps import CreatorIdPath, CreatorSelfDep, MerchantIdPath, MerchantSelfDep, ServiceDep
from serving.errors import responses
from serving.sample_store import request_view, sample_stock
from serving.schemas.console import SampleRequestList

router = APIRouter(tags=["samples"])


def _views(store: Store, records: list[dict[str, Any]]) -> list[Any]:
    stocks = {pid: sample_stock(store, pid) for pid in {r["product_id"] for r in records}}
    return [request_view(r, stocks[r["product_id"]]) for r in records]


@router.get(
    "/v1/creators/{creator_id}/sample-requests",
    response_model=SampleRequestList,
    summary="A creator's sample requests",
    responses=responses(401, 403, 422),
)
def creator_sample_requests(
    creator_id: CreatorIdPath, _caller: CreatorSelfDep, service: ServiceDep
) -> SampleRequestList:
    """The creator's sample requests, newest first (at most 500), with their status.

    Who may call: the creator itself and the admin."""
    records = list_sample_requests(service.store, creator_id=creator_id)
    return SampleRequestList(creator_id=creator_id, items=_views(service.store, records))


@router.get(
    "/v1/merchants/{merchant_id}/sample-requests",
    response_model=SampleRequestList,
    summary="Sample requests to a merchant",
    responses=responses(401, 403, 422),
)
def merchant_sample_requests(
    merchant_id: MerchantIdPath, _caller: MerchantSelfDep, service: ServiceDep
) -> SampleRequestList:
    """Sample requests for the merchant's products, newest first (at most 500), with the samples left.

    Who may call: the merchant itself and the admin."""
    records = list_sample_requests(service.store, merchant_id=merchant_id)
    return SampleRequestList(merchant_id=merchant_id, items=_views(service.store, records))
