"""Every endpoint x {no key, bad key, wrong tenant, right tenant, admin} gives the expected status."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.serving.conftest import key
from tests.serving.world import World

_ids = itertools.count()


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    path: Callable[[World], str]
    body: Callable[[World], Any] | None
    wrong: str | None  # key of the wrong tenant (None: public endpoint)
    right: str | None  # key of the right tenant
    expect: dict[str, int]


def _plan_body(w: World) -> dict[str, Any]:
    return {
        "plan_id": f"auth-{next(_ids)}",
        "product_id": w.product,
        "plan_type": "open",
        "commission_rate": 0.1,
        "starts_at": "2099-01-01T00:00:00Z",
    }


def _event_body(w: World) -> dict[str, Any]:
    return {"events": [{"event_id": f"auth-evt-{next(_ids)}", "kind": "promotion", "data": {"promotion_id": "x"}}]}


OK = {"none": 401, "bad": 401, "wrong": 403, "right": 200, "admin": 200}
CASES = [
    Case("creator pool", "GET", lambda w: f"/v1/creators/{w.creator}/products", None, "other_creator", "creator", OK),
    Case("pool, merchant key", "GET", lambda w: f"/v1/creators/{w.creator}/products", None, "merchant", "creator", OK),
    Case(
        "product creators",
        "GET",
        lambda w: f"/v1/products/{w.product}/creators",
        None,
        "other_merchant",
        "merchant",
        OK,
    ),
    Case(
        "product creators, creator key",
        "GET",
        lambda w: f"/v1/products/{w.product}/creators",
        None,
        "creator",
        "merchant",
        OK,
    ),
    Case(
        "shop creators", "GET", lambda w: f"/v1/merchants/{w.merchant}/creators", None, "other_merchant", "merchant", OK
    ),
    Case(
        "merchant plans", "GET", lambda w: f"/v1/merchants/{w.merchant}/plans", None, "other_merchant", "merchant", OK
    ),
    Case(
        "merchant plans, creator key",
        "GET",
        lambda w: f"/v1/merchants/{w.merchant}/plans",
        None,
        "creator",
        "merchant",
        OK,
    ),
    Case(
        "score as creator",
        "POST",
        lambda w: "/v1/score",
        lambda w: {"pairs": [{"creator_id": w.creator, "product_id": w.product}]},
        "other_creator",
        "creator",
        OK,
    ),
    Case(
        "score as merchant",
        "POST",
        lambda w: "/v1/score",
        lambda w: {"pairs": [{"creator_id": w.creator, "product_id": w.product}]},
        "other_merchant",
        "merchant",
        OK,
    ),
    Case(
        "rankings (public)",
        "GET",
        lambda w: "/v1/rankings/commission-picks",
        None,
        "other_creator",
        "merchant",
        {**OK, "wrong": 200},
    ),
    Case(
        "create plan",
        "POST",
        lambda w: "/v1/plans",
        _plan_body,
        "other_merchant",
        "merchant",
        {**OK, "right": 201, "admin": 201},
    ),
    Case(
        "create plan, creator key",
        "POST",
        lambda w: "/v1/plans",
        _plan_body,
        "creator",
        "merchant",
        {**OK, "right": 201, "admin": 201},
    ),
    Case("read plan", "GET", lambda w: "/v1/plans/auth-fixed", None, "other_merchant", "merchant", OK),
    Case(
        "change plan",
        "PATCH",
        lambda w: "/v1/plans/auth-fixed",
        lambda w: {"commission_rate": 0.12},
        "other_merchant",
        "merchant",
        OK,
    ),
    Case(
        "change plan, creator key",
        "PATCH",
        lambda w: "/v1/plans/auth-fixed",
        lambda w: {"commission_rate": 0.12},
        "creator",
        "merchant",
        OK,
    ),
    Case("events", "POST", lambda w: "/v1/events", _event_body, "merchant", "admin", OK),
    Case("events, creator key", "POST", lambda w: "/v1/events", _event_body, "creator", "admin", OK),
    Case("reload", "POST", lambda w: "/v1/admin/reload", None, "merchant", "admin", OK),
    Case("healthz", "GET", lambda w: "/healthz", None, None, None, dict.fromkeys(OK, 200)),
    Case("readyz", "GET", lambda w: "/readyz", None, None, None, dict.fromkeys(OK, 200)),
    Case("metrics", "GET", lambda w: "/metrics", None, None, None, dict.fromkeys(OK, 200)),
]


@pytest.fixture(scope="module", autouse=True)
def fixed_plan(client, env) -> None:  # type: ignore[no-untyped-def]
    """A scheduled plan of `merchant` that the PATCH and GET cases act on."""
    w = env.world
    body = {**_plan_body(w), "plan_id": "auth-fixed"}
    assert client.post("/v1/plans", json=body, headers=key(w, "merchant")).status_code == 201


def _headers(w: World, who: str, case: Case) -> dict[str, str]:
    if who == "none":
        return {}
    if who == "bad":
        return {"X-API-Key": "rk_0123456789ab.not-a-real-key"}
    name = {"wrong": case.wrong, "right": case.right, "admin": "admin"}[who] or "admin"
    return key(w, name)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_authorization_matrix(client, env, case: Case) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    for who in ("none", "bad", "wrong", "right", "admin"):
        kwargs: dict[str, Any] = {"headers": _headers(w, who, case)}
        if case.body is not None:
            kwargs["json"] = case.body(w)
        res = client.request(case.method, case.path(w), **kwargs)
        assert res.status_code == case.expect[who], f"{case.name} as {who}: {res.status_code} {res.text[:300]}"
        if res.status_code in (401, 403):
            error = res.json()["error"]
            assert error["code"] in {"missing_api_key", "invalid_api_key", "forbidden"} and error["message"]


def test_forbidden_messages_say_why(client, env) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    res = client.get(f"/v1/products/{w.product}/creators", headers=key(w, "other_merchant"))
    assert "belongs to another merchant" in res.json()["error"]["message"]
    res = client.get(f"/v1/creators/{w.creator}/products", headers=key(w, "other_creator"))
    assert "its own product pool" in res.json()["error"]["message"]
    res = client.post("/v1/admin/reload", headers=key(w, "merchant"))
    assert "admin key" in res.json()["error"]["message"]
    assert "X-API-Key" in client.get(f"/v1/creators/{w.creator}/products").json()["error"]["message"]
