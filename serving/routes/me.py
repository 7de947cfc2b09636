"""``GET /v1/me``: who the key is (role and tenant), so the web console adapts to it through the public API."""

from __future__ import annotations

from fastapi import APIRouter

from recsys.core.vocab import Role
from serving.deps import PrincipalDep
from serving.errors import responses
from serving.schemas.console import Me

router = APIRouter(prefix="/v1", tags=["me"])


@router.get("/me", response_model=Me, summary="Who this key is", responses=responses(401))
async def who_am_i(principal: PrincipalDep) -> Me:
    """The key's role (`admin`, `merchant` or `creator`) and the merchant or creator it acts for.

    Who may call: any valid key (it learns only about itself)."""
    tenant = principal.tenant_id
    return Me(
        role=principal.role,
        merchant_id=tenant if principal.role is Role.MERCHANT else None,
        creator_id=tenant if principal.role is Role.CREATOR else None,
        key_id=principal.key_id,
    )
