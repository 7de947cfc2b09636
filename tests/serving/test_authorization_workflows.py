"""Invitation and sample-request endpoints x {no key, bad key, wrong tenant, right tenant, admin} give the expected
status (the other endpoints: ``test_authorization.py``)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from recsys.core.schema import SA_TABLES
from recsys.core.store import Store
from tests.serving.authorization_matrix import OK, Case, check_case
from tests.serving.conftest import key

CASES = [
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
]

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


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_workflow_authorization_matrix(client, env, case: Case) -> None:  # type: ignore[no-untyped-def]
    check_case(client, env.world, case)
