"""Every endpoint x {no key, bad key, wrong tenant, right tenant, admin} gives the expected status."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa

from recsys.core.schema import SA_TABLES
from recsys.core.store import Store
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
    Case(
        "invite creators",
        "POST",
        lambda w: f"/v1/products/{w.product}/invites",
        lambda w: {"creator_ids": [w.unlisted_creator], "commission_rate": 0.2},
        "other_merchant",
        "merchant",
        {**OK, "right": 201, "admin": 201},
    ),
    Case(
        "invite creators, creator key",
        "POST",
        lambda w: f"/v1/products/{w.product}/invites",
        lambda w: {"creator_ids": [w.unlisted_creator], "commission_rate": 0.2},
        "creator",
        "merchant",
        {**OK, "right": 201, "admin": 201},
    ),
    Case(
        "product invites", "GET", lambda w: f"/v1/products/{w.product}/invites", None, "other_merchant", "merchant", OK
    ),
    Case(
        "product invites, creator key",
        "GET",
        lambda w: f"/v1/products/{w.product}/invites",
        None,
        "creator",
        "merchant",
        OK,
    ),
    Case("creator invites", "GET", lambda w: f"/v1/creators/{w.creator}/invites", None, "other_creator", "creator", OK),
    Case(
        "creator invites, merchant key",
        "GET",
        lambda w: f"/v1/creators/{w.creator}/invites",
        None,
        "merchant",
        "creator",
        OK,
    ),
    # another creator's invitation or sample request answers 404, exactly like an unknown id
    Case(
        "accept invite",
        "POST",
        lambda w: f"/v1/invites/{FIXED['accept']}/accept",
        None,
        "other_creator",
        "creator",
        {**OK, "wrong": 404},
    ),
    Case(
        "accept invite, merchant key",
        "POST",
        lambda w: f"/v1/invites/{FIXED['accept']}/accept",
        None,
        "merchant",
        "creator",
        OK,
    ),
    Case(
        "decline invite",
        "POST",
        lambda w: f"/v1/invites/{FIXED['decline']}/decline",
        None,
        "creator",
        "other_creator",
        {**OK, "wrong": 404},
    ),
    Case(
        "decline invite, merchant key",
        "POST",
        lambda w: f"/v1/invites/{FIXED['decline']}/decline",
        None,
        "merchant",
        "other_creator",
        OK,
    ),
    Case(
        "request sample",
        "POST",
        lambda w: f"/v1/products/{w.listed_product}/sample-requests",
        lambda w: {"creator_id": w.listed_creator},
        "other_creator",
        "listed_creator",
        {**OK, "right": 201, "admin": 409},  # the admin's is the same creator's second open request
    ),
    Case(
        "request sample, merchant key",
        "POST",
        lambda w: f"/v1/products/{w.listed_product}/sample-requests",
        lambda w: {"creator_id": w.listed_creator},
        "listed_merchant",
        "listed_creator",
        {**OK, "right": 409, "admin": 409},
    ),
    Case(
        "approve sample",
        "POST",
        lambda w: f"/v1/sample-requests/{FIXED['approve']}/approve",
        None,
        "other_merchant",
        "merchant",
        {**OK, "wrong": 404},
    ),
    Case(
        "approve sample, creator key",
        "POST",
        lambda w: f"/v1/sample-requests/{FIXED['approve']}/approve",
        None,
        "creator",
        "merchant",
        OK,
    ),
    Case(
        "reject sample",
        "POST",
        lambda w: f"/v1/sample-requests/{FIXED['reject']}/reject",
        None,
        "other_merchant",
        "merchant",
        {**OK, "wrong": 404},
    ),
    Case(
        "reject sample, creator key",
        "POST",
        lambda w: f"/v1/sample-requests/{FIXED['reject']}/reject",
        None,
        "other_creator",
        "merchant",
        OK,
    ),
    Case(
        "ship sample",
        "POST",
        lambda w: f"/v1/sample-requests/{FIXED['ship']}/ship",
        None,
        "other_merchant",
        "merchant",
        {**OK, "wrong": 404},
    ),
    Case(
        "ship sample, creator key",
        "POST",
        lambda w: f"/v1/sample-requests/{FIXED['ship']}/ship",
        None,
        "unlisted_creator",
        "merchant",
        OK,
    ),
    Case(
        "sample content",  # the promotion is unknown: the caller may act, the content is refused
        "POST",
        lambda w: f"/v1/sample-requests/{FIXED['content']}/content",
        lambda w: {"promotion_id": "pr-unknown"},
        "other_creator",
        "listed_creator",
        {**OK, "wrong": 404, "right": 422, "admin": 422},
    ),
    Case(
        "sample content, merchant key",
        "POST",
        lambda w: f"/v1/sample-requests/{FIXED['content']}/content",
        lambda w: {"promotion_id": "pr-unknown"},
        "merchant",
        "listed_creator",
        {**OK, "right": 422, "admin": 422},
    ),
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


FIXED: dict[str, str] = {}


@pytest.fixture(scope="module", autouse=True)
def fixed_workflows(client, env) -> None:  # type: ignore[no-untyped-def]
    """Invitations and sample requests the accept/decline and sample-step cases act on (ids in FIXED)."""
    w = env.world
    store = Store(env.settings.resolved_database_url)
    products = SA_TABLES["products"]
    try:  # unlimited samples for the products the cases request (the synthetic stock may be small)
        with store.transaction() as conn:
            for product in (w.product, w.listed_product):
                where = products.c.product_id == product
                extra = conn.execute(sa.select(products.c.extra).where(where)).scalar_one() or {}
                conn.execute(sa.update(products).where(where).values(extra={**extra, "sample_stock": None}))
    finally:
        store.dispose()
    body = {"creator_ids": [w.creator, w.other_creator], "commission_rate": 0.22}
    invites = client.post(f"/v1/products/{w.product}/invites", json=body, headers=key(w, "merchant")).json()["items"]
    FIXED.update(accept=invites[0]["invite_id"], decline=invites[1]["invite_id"])

    def request(creator: str) -> str:
        url = f"/v1/products/{w.product}/sample-requests"
        res = client.post(url, json={"creator_id": creator}, headers=key(w, "admin"))
        assert res.status_code == 201, res.text
        return str(res.json()["request_id"])

    FIXED.update(approve=request(w.creator), reject=request(w.other_creator), ship=request(w.unlisted_creator))
    FIXED["content"] = request(w.listed_creator)
    for rid, steps in ((FIXED["ship"], ["approve"]), (FIXED["content"], ["approve", "ship"])):
        for step in steps:
            assert client.post(f"/v1/sample-requests/{rid}/{step}", headers=key(w, "admin")).status_code == 200


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
