"""Onboarding: ``PUT /v1/merchants|products|creators/{id}`` create or replace one merchant, product or creator.

Create or replace one entity, validated exactly like an import row (``serving.entity_store``); the same PUT twice is
one entity and the same body. A written entity is recommended without retraining: every worker adds it to its live
matcher on its next refresh (``serving.live_entities``), within ``serving.refresh_seconds`` plus the time to
re-assemble the matcher.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Response

from recsys.core.vocab import Role
from serving.auth import Principal
from serving.deps import AdminDep, CreatorIdPath, MerchantIdPath, PrincipalDep, ProductIdPath, ServiceDep
from serving.entity_store import Written, put_entity, read_entity
from serving.errors import forbidden, responses
from serving.runtime import Service
from serving.schemas import (
    CreatorPublic,
    CreatorPut,
    MerchantPublic,
    MerchantPut,
    ProductPublic,
    ProductPut,
)

router = APIRouter(tags=["onboarding"])


def _put_responses(model: type[Any]) -> dict[int | str, dict[str, Any]]:
    """200 (replaced or unchanged) and 201 (created, with ``Location``) carry the stored entity; then the errors."""
    return {
        200: {"description": "Replaced, or unchanged"},
        201: {"description": "Created (`Location` names it)", "model": model},
        **responses(401, 403, 422),
    }


def _answer(service: Service, written: Written, response: Response, location: str) -> dict[str, Any]:
    """201 with ``Location`` when created, 200 otherwise; the other workers are told to look at once."""
    if written.created:
        response.status_code = 201
        response.headers["Location"] = quote(location)  # ids may hold any character
    service.refresh_soon()
    return written.record


def _unknown_category_notice(service: Service, category: str) -> str | None:
    state = service.current
    if state is None or category in state.bundle.engine.tables.categories:
        return None
    return f"category {category!r} is not in the model yet: the product is recommended after the next training"


@router.put(
    "/v1/merchants/{merchant_id}",
    response_model=MerchantPublic,
    summary="Create or replace a merchant",
    responses=_put_responses(MerchantPublic),
)
def put_merchant(
    merchant_id: MerchantIdPath, principal: AdminDep, body: MerchantPut, service: ServiceDep, response: Response
) -> dict[str, Any]:
    """Create or replace a merchant (every field, as an import row). Its products' admission follows at once
    in every worker: an experience score below closure, violations or closures take them out of every pool.

    Who may call: the admin."""
    written = put_entity(service.store, service.settings, "merchants", merchant_id, body.model_dump())
    return {**_answer(service, written, response, f"/v1/merchants/{merchant_id}"), "merchant_id": merchant_id}


async def _product_writer(product_id: ProductIdPath, principal: PrincipalDep, service: ServiceDep) -> Principal:
    """Admin, or a merchant writing a new product or one of its own (checked before the body, like every 403)."""
    if principal.is_admin:
        return principal
    if principal.role is not Role.MERCHANT:
        raise forbidden("products are written by their merchant (and the admin), not by creators")
    stored = read_entity(service.store, "products", product_id)
    if stored is not None and not principal.is_merchant(str(stored["merchant_id"])):
        raise forbidden(f"product {product_id!r} belongs to another merchant")
    return principal


async def _creator_writer(creator_id: CreatorIdPath, principal: PrincipalDep) -> Principal:
    if not (principal.is_admin or principal.is_creator(creator_id)):
        raise forbidden("a creator profile is written by that creator (and the admin) only")
    return principal


ProductWriterDep = Annotated[Principal, Depends(_product_writer)]
CreatorWriterDep = Annotated[Principal, Depends(_creator_writer)]


@router.put(
    "/v1/products/{product_id}",
    response_model=ProductPublic,
    summary="Create or replace a product",
    responses=_put_responses(ProductPublic),
)
def put_product(
    product_id: ProductIdPath, principal: ProductWriterDep, body: ProductPut, service: ServiceDep, response: Response
) -> dict[str, Any]:
    """Create or replace one of your products (every field, as an import row; `merchant_id` must be yours).
    It reaches creators' pools without retraining, in every worker within about `serving.refresh_seconds`, once it
    has a plan they may join (`POST /v1/plans`).

    Who may call: the product's merchant and the admin."""
    if not (principal.is_admin or principal.is_merchant(body.merchant_id)):
        raise forbidden(f"a merchant key may only list products of its own shop ({principal.tenant_id!r})")
    written = put_entity(service.store, service.settings, "products", product_id, body.model_dump())
    record = _answer(service, written, response, f"/v1/products/{product_id}")
    return {**record, "product_id": product_id, "notice": _unknown_category_notice(service, body.category)}


@router.put(
    "/v1/creators/{creator_id}",
    response_model=CreatorPublic,
    summary="Create or replace a creator",
    responses=_put_responses(CreatorPublic),
)
def put_creator(
    creator_id: CreatorIdPath, principal: CreatorWriterDep, body: CreatorPut, service: ServiceDep, response: Response
) -> dict[str, Any]:
    """Create or replace a creator profile (every field, as an import row). It reaches merchants' creator lists
    and gets a product pool without retraining, in every worker within about `serving.refresh_seconds`.

    Who may call: the creator itself and the admin."""
    written = put_entity(service.store, service.settings, "creators", creator_id, body.model_dump())
    return {**_answer(service, written, response, f"/v1/creators/{creator_id}"), "creator_id": creator_id}
