"""Plans: ``POST /v1/plans``, ``GET /v1/plans/{plan_id}``, ``PATCH /v1/plans/{plan_id}``.

A merchant manages the plans of its own products; a creator may read a public plan or a listed plan that names
it — any other plan answers exactly like an unknown one (404), so exclusive and targeted plans never leak.
"""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Response

from recsys.core.vocab import Role
from serving import plan_store
from serving.auth import Principal
from serving.deps import ClockDep, PlanIdPath, PrincipalDep, ServiceDep
from serving.errors import ApiError, forbidden, not_found, responses
from serving.schemas import PlanCreate, PlanPublic, PlanUpdate

router = APIRouter(prefix="/v1/plans", tags=["plans"])


def _tiers(tiers: list[Any]) -> list[list[float]]:
    return [[float(t.min_amount), float(t.rate)] for t in tiers]


def _writable(principal: Principal) -> None:
    if principal.role is Role.CREATOR:
        raise forbidden("creators cannot create or edit plans; plans belong to merchants")


def _owned(service: Any, principal: Principal, product_id: str) -> str | None:
    """The product's merchant; 403 when a merchant key acts on another merchant's product."""
    merchant = plan_store.product_merchant(service.store, product_id)
    if merchant is not None and principal.role is Role.MERCHANT and principal.tenant_id != merchant:
        raise forbidden(f"product {product_id!r} belongs to another merchant")
    return merchant


@router.post(
    "",
    response_model=PlanPublic,
    status_code=201,
    summary="Create a plan",
    responses=responses(401, 403, 409, 422),
)
def create_plan(
    body: PlanCreate, principal: PrincipalDep, service: ServiceDep, clock: ClockDep, response: Response
) -> PlanPublic:
    """Create a plan for one of your products. Validated by the plan rules (commission bounds, monotone tiers,
    listed creators for exclusive/targeted plans, and that they exist); a refusal lists every reason code.
    The plan reaches recommendations at once.

    Who may call: the product's merchant and the admin."""
    _writable(principal)
    merchant = _owned(service, principal, body.product_id)
    if merchant is None:
        raise ApiError(
            422,
            "plan_refused",
            f"the plan was refused: unknown product {body.product_id!r}",
            [{"code": "plan_product_unknown", "message": f"unknown product {body.product_id!r}"}],
        )
    now = clock()
    record: dict[str, Any] = {
        "plan_id": body.plan_id or f"pl-{secrets.token_hex(6)}",
        "product_id": body.product_id,
        "plan_type": body.plan_type,
        "commission_rate": body.commission_rate,
        "creator_ids": list(dict.fromkeys(body.creator_ids)),
        "tiers": _tiers(body.tiers),
        "tier_basis": body.tier_basis,
        "min_followers": body.min_followers,
        "allowed_categories": list(body.allowed_categories),
        "allowed_regions": list(body.allowed_regions),
        "starts_at": plan_store.utc_naive(body.starts_at) or now,
        "ends_at": plan_store.utc_naive(body.ends_at),
        "budget": body.budget,
        "budget_spent": 0.0,
    }
    if plan_store.load_plan(service.store, record["plan_id"]) is not None:
        raise ApiError(409, "plan_exists", f"plan {record['plan_id']!r} already exists; PATCH it instead")
    plan_store.check_plan(service.store, record, service.settings, None, now)
    plan_store.write_plan(service.store, record, service.settings, create=True)
    service.refresh_plans()
    response.headers["Location"] = f"/v1/plans/{record['plan_id']}"
    return plan_store.public_view(record, merchant, now, owner=True)


def _visible(service: Any, principal: Principal, plan_id: str) -> tuple[dict[str, Any], str, bool]:
    """The plan, its merchant and whether the caller sees the owner view; 404/403 as the rules say.

    A creator's visibility is decided inside the one query that loads the plan, so a listed plan that does not name
    the creator and an unknown id take the same path: the same 404, the same work, the same time."""
    creator = (principal.tenant_id or "") if principal.role is Role.CREATOR else None
    found = plan_store.load_visible_plan(service.store, plan_id, creator)
    if found is None:
        raise not_found("plan", plan_id)  # unknown, or not offered to this creator: one answer
    record, merchant = found
    if principal.is_admin or principal.is_merchant(merchant):
        return record, merchant, True
    if principal.role is Role.CREATOR:
        return record, merchant, False
    raise forbidden(f"plan {plan_id!r} belongs to another merchant")


@router.get(
    "/{plan_id}",
    response_model=PlanPublic,
    summary="Read a plan",
    responses=responses(401, 403, 404, 422),
)
def get_plan(plan_id: PlanIdPath, principal: PrincipalDep, service: ServiceDep, clock: ClockDep) -> PlanPublic:
    """A plan's terms. Merchants and the admin see the owner view (listed creators, budget); creators see the terms
    of public plans and of listed plans that name them — any other plan is 404, exactly like an unknown id.

    Who may call: the plan's merchant, the admin, and creators (as above)."""
    record, merchant, owner = _visible(service, principal, plan_id)
    return plan_store.public_view(record, merchant, clock(), owner)


def _edited(old: dict[str, Any], changes: dict[str, Any], body: PlanUpdate) -> dict[str, Any]:
    """The plan ``old`` with the PATCH body's fields applied (unset fields keep their stored value)."""
    new = dict(old)
    for field, value in changes.items():
        if field == "tiers":
            value = _tiers(body.tiers or [])
        elif field in ("starts_at", "ends_at"):
            value = plan_store.utc_naive(value)
        elif field == "creator_ids":
            value = list(dict.fromkeys(value or []))
        elif value is None and field in ("allowed_categories", "allowed_regions"):
            value = []
        new[field] = value
    if new.get("starts_at") is None:
        raise ApiError(
            422,
            "invalid_request",
            "body.starts_at: a plan needs a start time",
            [{"loc": ["body", "starts_at"], "msg": "may not be null", "type": "missing"}],
        )
    for field, default in (
        ("plan_type", old["plan_type"]),
        ("commission_rate", old["commission_rate"]),
        ("tier_basis", "units"),
        ("min_followers", 0),
    ):
        if new.get(field) is None:
            new[field] = default
    return new


@router.patch(
    "/{plan_id}",
    response_model=PlanPublic,
    summary="Change a plan",
    responses=responses(401, 403, 404, 422),
)
def update_plan(
    plan_id: PlanIdPath, body: PlanUpdate, principal: PrincipalDep, service: ServiceDep, clock: ClockDep
) -> PlanPublic:
    """Change some fields of a plan. Before launch anything may change; after launch the type, start and tier
    basis are fixed and the commission may only rise (base rate and the rate at every sales level). To end a plan,
    set `ends_at`. The change reaches recommendations at once.

    Who may call: the plan's merchant and the admin."""
    _writable(principal)
    _, merchant, _ = _visible(service, principal, plan_id)
    changes = body.model_dump(exclude_unset=True)
    now = clock()
    _, new = plan_store.update_plan(
        service.store, plan_id, lambda old: _edited(old, changes, body), service.settings, now
    )
    service.refresh_plans()
    return plan_store.public_view(new, merchant, now, owner=True)
