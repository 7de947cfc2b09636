"""Invitations to targeted plans: ``POST|GET /v1/products/{product_id}/invites``,
``GET /v1/creators/{creator_id}/invites``, ``POST /v1/invites/{invite_id}/accept|decline``.

An invitation and its rate are shown only to the invited creator, the inviting merchant and the admin: another
creator asking for it gets 404 exactly like an unknown id, and the targeted plan behind it follows the listed-plan
rules (docs/serving.md).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response

from recsys.core.vocab import Role
from recsys.core.workflows import InviteAction, default_expiry
from serving import invite_store, plan_store
from serving.auth import Principal, require_product_owner
from serving.deps import ClockDep, CreatorIdPath, PrincipalDep, ProductIdPath, ServiceDep
from serving.errors import ApiError, forbidden, not_found, responses
from serving.schemas import InviteCreate, InviteList, InvitePublic

router = APIRouter(tags=["invites"])

InviteIdPath = Annotated[str, Path(min_length=1, max_length=200, examples=["inv-3f9a0c1b2d4e"])]


def _product_owner(service: Any, principal: Principal, product_id: str) -> str:
    """The product's merchant after the tenancy check (creators: 403; other merchants: 403; unknown: 404)."""
    if principal.role is Role.CREATOR:
        raise forbidden("invitations are sent and listed by the product's merchant (and the admin), not creators")
    merchant = plan_store.product_merchant(service.store, product_id)
    require_product_owner(principal, product_id, merchant)
    if merchant is None:
        raise not_found("product", product_id)
    return merchant


@router.post(
    "/v1/products/{product_id}/invites",
    response_model=InviteList,
    status_code=201,
    summary="Invite creators to a targeted plan",
    responses=responses(401, 403, 404, 409, 422),
)
def create_invites(
    product_id: ProductIdPath,
    body: InviteCreate,
    principal: PrincipalDep,
    service: ServiceDep,
    clock: ClockDep,
    response: Response,
) -> InviteList:
    """Invite 1–50 creators to promote the product at a targeted rate until `expires_at` (default 7 days, at most
    90). The creators are listed on a running targeted plan of the product at that rate with room (a targeted plan
    lists at most 50), or on a new one — validated by the plan rules, so the rate must be within the platform's
    bounds. A creator whose invitation is pending at the same rate gets it extended; an accepted one is returned
    unchanged. The targeted rate reaches the invited creators' pools at once, and nobody else's.

    Who may call: the product's merchant and the admin."""
    merchant = _product_owner(service, principal, product_id)
    now = clock()
    try:
        expires = plan_store.utc_naive(body.expires_at) or default_expiry(now)
    except OverflowError:  # a time zone offset pushing the date past year 1 or 9999
        raise ApiError(
            422,
            "invalid_request",
            "body.expires_at: out of range once converted to UTC",
            [{"loc": ["body", "expires_at"], "msg": "out of range once converted to UTC", "type": "datetime_range"}],
        ) from None
    records = invite_store.invite_creators(
        service.store, service.settings, product_id, merchant, body.creator_ids, body.commission_rate, expires, now
    )
    service.refresh_plans()
    response.headers["Location"] = f"/v1/products/{product_id}/invites"
    return InviteList(product_id=product_id, items=[invite_store.invite_view(r, now) for r in records])


@router.get(
    "/v1/products/{product_id}/invites",
    response_model=InviteList,
    summary="A product's invitations",
    responses=responses(401, 403, 404, 422),
)
def product_invites(
    product_id: ProductIdPath, principal: PrincipalDep, service: ServiceDep, clock: ClockDep
) -> InviteList:
    """Every invitation sent for the product, newest first, with its status (`expired`: pending past its expiry).

    Who may call: the product's merchant and the admin."""
    _product_owner(service, principal, product_id)
    now = clock()
    records = invite_store.list_invites(service.store, product_id=product_id)
    return InviteList(product_id=product_id, items=[invite_store.invite_view(r, now) for r in records])


@router.get(
    "/v1/creators/{creator_id}/invites",
    response_model=InviteList,
    summary="A creator's invitations",
    responses=responses(401, 403, 422),
)
def creator_invites(
    creator_id: CreatorIdPath, principal: PrincipalDep, service: ServiceDep, clock: ClockDep
) -> InviteList:
    """The invitations the creator received, newest first, with their targeted rates.

    Who may call: the creator itself and the admin."""
    if not (principal.is_admin or principal.is_creator(creator_id)):
        if principal.role is Role.CREATOR:
            raise forbidden(
                f"a creator key may only read its own invitations; this key belongs to {principal.tenant_id!r}"
            )
        raise forbidden("a creator's invitations are only shown to that creator (and the admin)")
    now = clock()
    records = invite_store.list_invites(service.store, creator_id=creator_id)
    return InviteList(creator_id=creator_id, items=[invite_store.invite_view(r, now) for r in records])


def _answer(invite_id: str, action: InviteAction, principal: Principal, service: Any, now: Any) -> InvitePublic:
    if principal.role is Role.MERCHANT:
        raise forbidden(f"only the invited creator (and the admin) may {action.value} an invitation")
    record = invite_store.load_invite(service.store, invite_id)
    if record is None or not (principal.is_admin or principal.is_creator(record["creator_id"])):
        raise not_found("invite", invite_id)  # another creator's invitation reads exactly like an unknown one
    record = invite_store.respond(service.store, service.settings, record, action, now)
    service.refresh_plans()
    return invite_store.invite_view(record, now)


@router.post(
    "/v1/invites/{invite_id}/accept",
    response_model=InvitePublic,
    summary="Accept an invitation",
    responses=responses(401, 403, 404, 409, 422),
)
def accept_invite(
    invite_id: InviteIdPath, principal: PrincipalDep, service: ServiceDep, clock: ClockDep
) -> InvitePublic:
    """Accept: the collaboration starts now (`collaboration_id`). The pair counts as an existing collaboration at
    once (it leaves the creator's new-partner pool and the product's new-creator list) and against the creator's
    capacity this period. Accepting again changes nothing; an expired or declined invitation is 409 with the reason.

    Who may call: the invited creator and the admin (any other creator: 404)."""
    return _answer(invite_id, InviteAction.ACCEPT, principal, service, clock())


@router.post(
    "/v1/invites/{invite_id}/decline",
    response_model=InvitePublic,
    summary="Decline an invitation",
    responses=responses(401, 403, 404, 409, 422),
)
def decline_invite(
    invite_id: InviteIdPath, principal: PrincipalDep, service: ServiceDep, clock: ClockDep
) -> InvitePublic:
    """Decline: the creator leaves the targeted plan (the plan ends if it lists nobody else). Declining again
    changes nothing; an accepted or expired invitation is 409 with the reason.

    Who may call: the invited creator and the admin (any other creator: 404)."""
    return _answer(invite_id, InviteAction.DECLINE, principal, service, clock())
