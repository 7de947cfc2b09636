"""Every endpoint x {no key, bad key, wrong tenant, right tenant, admin} gives the expected status: recommendations,
plans, events, onboarding and probes (invitations and sample requests: ``test_authorization_workflows.py``)."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from tests.serving.authorization_matrix import OK, Case, check_case
from tests.serving.conftest import key
from tests.serving.world import World

_ids = itertools.count()


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


def _product_body(w: World) -> dict[str, Any]:
    return {
        "merchant_id": w.merchant,
        "title": "auth twin",
        "category": w.listed_category,
        "price": 59.0,
        "rating": 4.6,
        "service_score": 4.5,
        "listed_at": "2026-11-30T00:00:00Z",
    }


def _merchant_body() -> dict[str, Any]:
    return {
        "name": "auth shop",
        "joined_at": "2026-11-01T00:00:00Z",
        "experience_score": 80.0,
        "good_review_rate": 0.95,
        "violations_90d": 0,
        "alliance_closures": 0,
        "region": "east",
    }


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
    Case(  # onboarding: a new product id per call (created: 201)
        "onboard product",
        "PUT",
        lambda w: f"/v1/products/p-auth-{next(_ids)}",
        lambda w: _product_body(w),
        "other_merchant",
        "merchant",
        {**OK, "right": 201, "admin": 201},
    ),
    Case(
        "onboard product, creator key",
        "PUT",
        lambda w: f"/v1/products/p-auth-{next(_ids)}",
        lambda w: _product_body(w),
        "creator",
        "merchant",
        {**OK, "right": 201, "admin": 201},
    ),
    Case(  # the body is refused after the key passed: the world's creator stays as it is
        "onboard creator",
        "PUT",
        lambda w: f"/v1/creators/{w.creator}",
        lambda w: {},
        "other_creator",
        "creator",
        {**OK, "right": 422, "admin": 422},
    ),
    Case(
        "onboard creator, merchant key",
        "PUT",
        lambda w: f"/v1/creators/{w.creator}",
        lambda w: {},
        "merchant",
        "creator",
        {**OK, "right": 422, "admin": 422},
    ),
    Case(
        "onboard merchant",
        "PUT",
        lambda w: f"/v1/merchants/m-auth-{next(_ids)}",
        lambda w: _merchant_body(),
        "merchant",
        "admin",
        {**OK, "right": 201, "admin": 201},
    ),
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


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_authorization_matrix(client, env, case: Case) -> None:  # type: ignore[no-untyped-def]
    check_case(client, env.world, case)


def test_forbidden_messages_say_why(client, env) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    res = client.get(f"/v1/products/{w.product}/creators", headers=key(w, "other_merchant"))
    assert "belongs to another merchant" in res.json()["error"]["message"]
    res = client.get(f"/v1/creators/{w.creator}/products", headers=key(w, "other_creator"))
    assert "its own product pool" in res.json()["error"]["message"]
    res = client.post("/v1/admin/reload", headers=key(w, "merchant"))
    assert "admin key" in res.json()["error"]["message"]
    assert "X-API-Key" in client.get(f"/v1/creators/{w.creator}/products").json()["error"]["message"]
