"""Sample requests (寄样): ``POST /v1/products/{product_id}/sample-requests`` (creator),
``POST /v1/sample-requests/{request_id}/approve|reject|ship`` (the product's merchant),
``POST /v1/sample-requests/{request_id}/content`` (the creator: the promotion that followed).

A request is shown only to its creator, the product's merchant and the admin; anyone else gets 404 exactly like
an unknown id.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Response

from recsys.core.vocab import Role
from recsys.core.workflows import SampleAction
from serving import sample_store
from serving.auth import Principal
from serving.deps import ClockDep, PrincipalDep, ProductIdPath, ServiceDep
from serving.errors import ApiError, forbidden, not_found, responses
from serving.schemas import SampleContent, SampleReject, SampleRequestCreate, SampleRequestPublic

router = APIRouter(tags=["samples"])

RequestIdPath = Annotated[str, Path(min_length=1, max_length=200, examples=["sr-0a1b2c3d4e5f"])]


@router.post(
    "/v1/products/{product_id}/sample-requests",
    response_model=SampleRequestPublic,
    status_code=201,
    summary="Request a sample",
    responses=responses(401, 403, 404, 409, 422),
)
def create_sample_request(
    product_id: ProductIdPath,
    body: SampleRequestCreate,
    principal: PrincipalDep,
    service: ServiceDep,
    clock: ClockDep,
    response: Response,
) -> SampleRequestPublic:
    """Ask the product's merchant for a sample. Refused with 409 `sample_out_of_stock` when the product has no
    samples left (its `sample_stock` is 0; empty = unlimited) and 409 `sample_request_open` while the creator's
    earlier request for the product is still waiting or approved.

    Who may call: creators (for themselves; `creator_id` may be omitted) and the admin (`creator_id` required)."""
    if principal.role is Role.MERCHANT:
        raise forbidden("sample requests are made by creators (and the admin), not merchants")
    creator_id = body.creator_id or (principal.tenant_id if principal.role is Role.CREATOR else None)
    if creator_id is None:
        raise ApiError(
            422,
            "invalid_request",
            "body.creator_id: the admin must name the creator",
            [{"loc": ["body", "creator_id"], "msg": "required with the admin key", "type": "missing"}],
        )
    if principal.role is Role.CREATOR and creator_id != principal.tenant_id:
        raise forbidden(
            f"a creator key may only request samples for itself; this key belongs to {principal.tenant_id!r}"
        )
    with service.store.engine.connect() as conn:
        found = sample_store.product_samples(conn, product_id)
        known_creator = bool(service.store.existing_ids(conn, "creators", [creator_id]))
    if found is None:
        raise not_found("product", product_id)
    if not known_creator:
        raise ApiError(
            422,
            "invalid_request",
            f"body.creator_id: unknown creator {creator_id!r}",
            [{"loc": ["body", "creator_id"], "msg": "unknown creator", "type": "unknown_creator"}],
        )
    now = clock()
    record = sample_store.create_request(service.store, product_id, found[0], creator_id, body.note, now)
    response.headers["Location"] = f"/v1/sample-requests/{record['request_id']}"
    return sample_store.request_view(record, found[1])


def _act(
    request_id: str,
    action: SampleAction,
    principal: Principal,
    service: Any,
    now: Any,
    reason: str | None = None,
    promotion_id: str | None = None,
) -> SampleRequestPublic:
    merchant_step = action is not SampleAction.CONTENT
    if merchant_step and principal.role is Role.CREATOR:
        raise forbidden(f"only the product's merchant (and the admin) may {action.value} a sample request")
    if not merchant_step and principal.role is Role.MERCHANT:
        raise forbidden("only the requesting creator (and the admin) may report the content that followed")
    record = sample_store.load_request(service.store, request_id)
    owner = record is not None and (
        principal.is_admin
        or (merchant_step and principal.is_merchant(record["merchant_id"]))
        or (not merchant_step and principal.is_creator(record["creator_id"]))
    )
    if not owner:
        raise not_found("sample_request", request_id)  # another tenant's request reads like an unknown one
    record, stock = sample_store.apply_action(service.store, request_id, action, now, reason, promotion_id)
    if action in (SampleAction.SHIP, SampleAction.CONTENT):
        service.refresh_plans()  # a new revision: every worker re-reads the fulfilment rates
    return sample_store.request_view(record, stock)


_STEP_RESPONSES = responses(401, 403, 404, 409, 422)


@router.post(
    "/v1/sample-requests/{request_id}/approve",
    response_model=SampleRequestPublic,
    summary="Approve a sample request",
    responses=_STEP_RESPONSES,
)
def approve_sample_request(
    request_id: RequestIdPath, principal: PrincipalDep, service: ServiceDep, clock: ClockDep
) -> SampleRequestPublic:
    """Approve a waiting request: one sample leaves the product's stock (409 `sample_out_of_stock` at zero).
    Approving again changes nothing.

    Who may call: the product's merchant and the admin."""
    return _act(request_id, SampleAction.APPROVE, principal, service, clock())


@router.post(
    "/v1/sample-requests/{request_id}/reject",
    response_model=SampleRequestPublic,
    summary="Reject a sample request",
    responses=_STEP_RESPONSES,
)
def reject_sample_request(
    request_id: RequestIdPath,
    principal: PrincipalDep,
    service: ServiceDep,
    clock: ClockDep,
    body: Annotated[SampleReject | None, Body()] = None,
) -> SampleRequestPublic:
    """Reject a waiting request, optionally saying why. An approved request can no longer be rejected.

    Who may call: the product's merchant and the admin."""
    reason = body.reason if body is not None else None
    return _act(request_id, SampleAction.REJECT, principal, service, clock(), reason=reason)


@router.post(
    "/v1/sample-requests/{request_id}/ship",
    response_model=SampleRequestPublic,
    summary="Mark a sample shipped",
    responses=_STEP_RESPONSES,
)
def ship_sample_request(
    request_id: RequestIdPath, principal: PrincipalDep, service: ServiceDep, clock: ClockDep
) -> SampleRequestPublic:
    """Mark an approved sample shipped: the creator's 14-day content window starts now.

    Who may call: the product's merchant and the admin."""
    return _act(request_id, SampleAction.SHIP, principal, service, clock())


@router.post(
    "/v1/sample-requests/{request_id}/content",
    response_model=SampleRequestPublic,
    summary="Report the content that followed a sample",
    responses=_STEP_RESPONSES,
)
def sample_content(
    request_id: RequestIdPath, body: SampleContent, principal: PrincipalDep, service: ServiceDep, clock: ClockDep
) -> SampleRequestPublic:
    """Name the promotion that followed the shipped sample (it must be in the store — `POST /v1/events` — and be
    this creator's promotion of this product, started after shipping: else 422 with the reason). Content started
    within 14 days of shipping counts toward the creator's fulfilment rate, which merchants see in creator lists.

    Who may call: the requesting creator and the admin."""
    return _act(request_id, SampleAction.CONTENT, principal, service, clock(), promotion_id=body.promotion_id)
