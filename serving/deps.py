"""Typed dependency aliases (FastAPI full-stack template style); tests override these, never patch.

Order matters where a route declares several: FastAPI resolves them in signature order, so routes list the
caller (401) and tenancy checks (403) before :data:`StateDep` (503), and the model is only needed once the caller
may see the answer.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Path, Request, Security

from recsys.core.config import Settings
from recsys.core.store import Store, now_utc
from serving.auth import (
    Principal,
    api_key_scheme,
    authenticate,
    require_admin,
    require_creator_self,
    require_merchant_self,
)
from serving.errors import ApiError
from serving.runtime import Service
from serving.state import MatcherState


async def get_service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


ServiceDep = Annotated[Service, Depends(get_service)]


async def get_settings(service: ServiceDep) -> Settings:
    return service.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_store(service: ServiceDep) -> Store:
    return service.store


StoreDep = Annotated[Store, Depends(get_store)]


async def get_state(service: ServiceDep) -> MatcherState:
    """The matcher state this request uses from start to end (taken once; 503 when no model is loaded)."""
    service.maybe_refresh()
    return service.state()


StateDep = Annotated[MatcherState, Depends(get_state)]


async def get_clock() -> Callable[[], datetime]:
    """The clock plan validation uses (naive UTC); tests may override it."""
    return now_utc


ClockDep = Annotated[Callable[[], datetime], Depends(get_clock)]


async def get_principal(service: ServiceDep, token: Annotated[str | None, Security(api_key_scheme)]) -> Principal:
    return authenticate(service.keys, token)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


async def get_admin(principal: PrincipalDep) -> Principal:
    return require_admin(principal)


AdminDep = Annotated[Principal, Depends(get_admin)]

CreatorIdPath = Annotated[str, Path(min_length=1, max_length=200, examples=["c00012"])]
ProductIdPath = Annotated[str, Path(min_length=1, max_length=200, examples=["p00075"])]
MerchantIdPath = Annotated[str, Path(min_length=1, max_length=200, examples=["m00003"])]
PlanIdPath = Annotated[str, Path(min_length=1, max_length=200, examples=["pl00084"])]


async def creator_self(creator_id: CreatorIdPath, principal: PrincipalDep) -> Principal:
    require_creator_self(principal, creator_id)
    return principal


CreatorSelfDep = Annotated[Principal, Depends(creator_self)]


async def merchant_self(merchant_id: MerchantIdPath, principal: PrincipalDep) -> Principal:
    require_merchant_self(principal, merchant_id)
    return principal


MerchantSelfDep = Annotated[Principal, Depends(merchant_self)]


_QUERY_NAMES: dict[int, frozenset[str]] = {}


def _query_names(dependant: Any) -> set[str]:
    names = {field.alias for field in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


async def reject_unknown_query(request: Request) -> None:
    """422 for a query parameter the endpoint does not have: a misspelled option (``min_comission``) is an
    error, never silently ignored."""
    if not request.query_params:
        return
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    allowed = _QUERY_NAMES.get(id(route))
    if allowed is None:
        allowed = frozenset(_query_names(dependant))
        _QUERY_NAMES[id(route)] = allowed
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        known = ", ".join(sorted(allowed)) or "none"
        details = [
            {"loc": ["query", name], "msg": f"unknown parameter; known: {known}", "type": "extra_forbidden"}
            for name in unknown
        ]
        raise ApiError(422, "invalid_request", f"query.{unknown[0]}: unknown parameter; known: {known}", details)
