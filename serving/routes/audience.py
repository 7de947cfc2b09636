"""``GET /v1/products/{product_id}/audience``: the product's target buyers against creators' audiences.

What a merchant compares on a creator card (gender, age band, city tier shares), read from the store for any
creators at once, so a page of cards needs one call.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from serving.auth import require_product_owner
from serving.console_store import audience_rows, share_groups
from serving.deps import PrincipalDep, ProductIdPath, ServiceDep
from serving.errors import ApiError, not_found, responses
from serving.plan_store import product_merchant
from serving.schemas.console import AudienceFit, CreatorAudience, ShareGroups

router = APIRouter(prefix="/v1/products", tags=["products"])

MAX_AUDIENCE_CREATORS = 50

CreatorIdsQuery = Annotated[
    str,
    Query(
        alias="creator_id",
        min_length=1,
        max_length=MAX_AUDIENCE_CREATORS * 201,
        description=f"Creators to compare, comma-separated (`creator_id=c00012,c00031`), 1–{MAX_AUDIENCE_CREATORS}.",
        examples=["c00012,c00031"],
    ),
]


def _creator_ids(text: str) -> list[str]:
    """The comma-separated ids, in order, without repeats; 422 naming the parameter when empty or too many."""
    ids = list(dict.fromkeys(part.strip() for part in text.split(",")))
    if not ids or any(not i or len(i) > 200 for i in ids) or len(ids) > MAX_AUDIENCE_CREATORS:
        raise ApiError(
            422,
            "invalid_request",
            f"query.creator_id: give 1–{MAX_AUDIENCE_CREATORS} creator ids separated by commas, each 1–200 characters",
            [{"loc": ["query", "creator_id"], "msg": "bad list of creator ids", "type": "value_error"}],
        )
    return ids


@router.get(
    "/{product_id}/audience",
    response_model=AudienceFit,
    summary="Audience against the product's target",
    responses=responses(401, 403, 404, 422),
)
def product_audience(
    product_id: ProductIdPath, principal: PrincipalDep, service: ServiceDep, creator_ids: CreatorIdsQuery
) -> AudienceFit:
    """The product's target buyers (null when it publishes none) and each creator's audience, as shares per
    gender, age band and city tier. Unknown creator ids are listed in `unknown_creator_ids`.

    Who may call: the product's merchant and the admin."""
    store = service.store
    merchant = product_merchant(store, product_id)
    if merchant is None:
        raise not_found("product", product_id)
    require_product_owner(principal, product_id, merchant)
    product = audience_rows(store, "products", [product_id]).get(product_id, {})
    target = share_groups(product, "target")
    ids = _creator_ids(creator_ids)
    rows = audience_rows(store, "creators", ids)
    creators = []
    for creator_id in ids:
        groups = share_groups(rows[creator_id], "aud") if creator_id in rows else None
        if groups is not None:
            creators.append(CreatorAudience(creator_id=creator_id, audience=ShareGroups(**groups)))
    known = {c.creator_id for c in creators}
    return AudienceFit(
        product_id=product_id,
        target=None if target is None else ShareGroups(**target),
        creators=creators,
        unknown_creator_ids=[c for c in ids if c not in known],
    )
