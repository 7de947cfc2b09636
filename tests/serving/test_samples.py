"""Sample requests through HTTP: a creator requests, the merchant approves and ships, content follows and the
creator's fulfilment rate (shown to merchants) changes; the stock runs out and requests are refused."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from recsys.core.keys import create_key
from recsys.core.schema import EXTRA_COLUMN, SA_TABLES
from recsys.core.store import Store, now_utc
from tests.serving.conftest import key


def _set_stock(env, product_id: str, stock: int | None) -> None:  # type: ignore[no-untyped-def]
    """Give a product ``stock`` samples (None: unlimited), as a catalogue import would."""
    store = Store(env.settings.resolved_database_url)
    products = SA_TABLES["products"]
    try:
        with store.transaction() as conn:
            extra = conn.execute(
                sa.select(products.c[EXTRA_COLUMN]).where(products.c.product_id == product_id)
            ).scalar_one()
            extra = {**(extra or {}), "sample_stock": stock}
            conn.execute(sa.update(products).where(products.c.product_id == product_id).values(extra=extra))
    finally:
        store.dispose()


@pytest.fixture(scope="module")
def creators(client, env) -> dict[str, dict[str, str]]:  # type: ignore[no-untyped-def]
    """Three creators of the product's recommended list, with keys."""
    w = env.world
    listed = client.get(f"/v1/products/{w.product}/creators", params={"k": 30}, headers=key(w, "merchant")).json()
    skip = {w.creator, w.other_creator, w.listed_creator, w.unlisted_creator}
    ids = [i["creator_id"] for i in listed["items"] if i["creator_id"] not in skip][:3]
    store = Store(env.settings.resolved_database_url)
    try:
        return {c: {"X-API-Key": create_key(store, "creator", c)[1]} for c in ids}
    finally:
        store.dispose()


def _request(client, env, creator: str, headers: dict[str, str], product: str | None = None):  # type: ignore[no-untyped-def]
    product = product or env.world.product
    return client.post(f"/v1/products/{product}/sample-requests", json={"note": "for a live stream"}, headers=headers)


def _step(client, env, request_id: str, action: str, who: str | dict[str, str] = "merchant", **kwargs: Any):  # type: ignore[no-untyped-def]
    headers = key(env.world, who) if isinstance(who, str) else who
    return client.post(f"/v1/sample-requests/{request_id}/{action}", headers=headers, **kwargs)


def _fulfilment(client, env, creator: str) -> float | None:  # type: ignore[no-untyped-def]
    w = env.world
    url = f"/v1/products/{w.product}/creators"
    items = client.get(url, params={"k": 200, "include_existing": True}, headers=key(w, "merchant")).json()["items"]
    mine = [i for i in items if i["creator_id"] == creator]
    assert mine, f"{creator} is in the product's list"
    rate: float | None = mine[0]["sample_fulfilment_rate"]
    return rate


def _promotion(client, env, creator: str, promotion_id: str) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    pair = client.post(
        "/v1/score", json={"pairs": [{"creator_id": creator, "product_id": w.product}]}, headers=key(w, "admin")
    ).json()["items"][0]
    data = {
        "promotion_id": promotion_id,
        "creator_id": creator,
        "product_id": w.product,
        "plan_id": pair["plan_id"],
        "started_at": now_utc().isoformat(),
        "format": "video",
        "views": 12000,
        "likes": 640,
        "comments": 35,
        "shares": 12,
        "completion_rate": 0.42,
        "clicks": 380,
        "orders": 21,
        "gmv": 2709.0,
        "refunds": 1,
    }
    event = {"event_id": f"ev-{promotion_id}", "kind": "promotion", "data": data}
    answer = client.post("/v1/events", json={"events": [event]}, headers=key(w, "admin")).json()
    assert answer["results"][0]["status"] == "accepted", answer


def test_request_approve_ship_content_and_the_rate_changes(client, env, creators) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    _set_stock(env, w.product, 2)
    creator, headers = next(iter(creators.items()))
    assert _fulfilment(client, env, creator) is None
    res = _request(client, env, creator, headers)
    assert res.status_code == 201, res.text
    request = res.json()
    assert (request["status"], request["creator_id"], request["sample_stock"]) == ("requested", creator, 2)
    again = _request(client, env, creator, headers)
    assert again.status_code == 409 and again.json()["error"]["code"] == "sample_request_open"

    rid = request["request_id"]
    assert _step(client, env, rid, "approve", headers).status_code == 403  # the creator cannot approve
    assert _step(client, env, rid, "approve", "other_merchant").status_code == 404  # nor another merchant
    assert _step(client, env, rid, "ship").json()["error"]["code"] == "sample_request_not_approved"
    approved = _step(client, env, rid, "approve")
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    assert approved.json()["sample_stock"] == 1 and approved.json()["approved_at"]
    assert _step(client, env, rid, "approve").json()["sample_stock"] == 1  # approving again takes nothing
    shipped = _step(client, env, rid, "ship")
    assert shipped.status_code == 200 and shipped.json()["status"] == "shipped" and shipped.json()["shipped_at"]
    assert _fulfilment(client, env, creator) is None  # inside its 14 days without content: not judged yet

    res = _step(client, env, rid, "content", headers, json={"promotion_id": "pr-none"})
    assert res.status_code == 422
    assert res.json()["error"]["details"][0]["code"] == "sample_content_promotion_unknown"
    assert any(d.get("loc") == ["body", "promotion_id"] for d in res.json()["error"]["details"])
    assert _step(client, env, rid, "content", "merchant", json={"promotion_id": "x"}).status_code == 403
    _promotion(client, env, creator, "pr-sample-1")
    done = _step(client, env, rid, "content", headers, json={"promotion_id": "pr-sample-1"})
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "content_posted" and done.json()["content_promotion_id"] == "pr-sample-1"
    assert _step(client, env, rid, "content", headers, json={"promotion_id": "pr-sample-1"}).status_code == 200
    res = _step(client, env, rid, "content", headers, json={"promotion_id": "pr-other"})
    assert res.status_code == 409 and res.json()["error"]["code"] == "sample_content_already_recorded"
    assert _fulfilment(client, env, creator) == 1.0  # merchants now see it


def test_no_samples_left_refuses_requests(client, env, creators) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    _set_stock(env, w.product, 1)
    (first, first_key), (second, second_key) = list(creators.items())[1:3]
    rid = _request(client, env, first, first_key).json()["request_id"]
    waiting = _request(client, env, second, second_key).json()["request_id"]
    assert _step(client, env, rid, "approve").json()["sample_stock"] == 0
    res = _step(client, env, waiting, "approve")
    assert res.status_code == 409 and res.json()["error"]["code"] == "sample_out_of_stock"
    assert _step(client, env, waiting, "reject", json={"reason": "out of samples"}).json()["status"] == "rejected"
    res = _step(client, env, waiting, "ship")
    assert res.status_code == 409 and res.json()["error"]["code"] == "sample_request_closed"
    res = _request(client, env, second, second_key)
    assert res.status_code == 409 and res.json()["error"]["code"] == "sample_out_of_stock"
    assert "no samples left" in res.json()["error"]["message"]
    _set_stock(env, w.product, None)  # unlimited again
    assert _request(client, env, second, second_key).status_code == 201


def test_bad_sample_requests_name_the_field(client, env, creators) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    headers = next(iter(creators.values()))
    res = client.post(f"/v1/products/{w.product}/sample-requests", json={}, headers=key(w, "admin"))
    assert res.status_code == 422 and res.json()["error"]["details"][0]["loc"] == ["body", "creator_id"]
    res = client.post(
        f"/v1/products/{w.product}/sample-requests", json={"creator_id": "c-nobody"}, headers=key(w, "admin")
    )
    assert res.status_code == 422 and "unknown creator" in res.json()["error"]["message"]
    res = client.post(f"/v1/products/{w.product}/sample-requests", json={"colour": "red"}, headers=headers)
    assert res.status_code == 422 and res.json()["error"]["details"][0]["loc"] == ["body", "colour"]
    res = client.post(f"/v1/products/{w.product}/sample-requests", json={"creator_id": w.creator}, headers=headers)
    assert res.status_code == 403
    res = client.post("/v1/products/p-nobody/sample-requests", json={}, headers=headers)
    assert res.status_code == 404 and res.json()["error"]["code"] == "unknown_product"
    res = client.post(f"/v1/products/{w.product}/sample-requests", json={}, headers=key(w, "merchant"))
    assert res.status_code == 403
    res = _step(client, env, "sr-nobody", "approve")
    assert res.status_code == 404 and res.json()["error"]["code"] == "unknown_sample_request"
    res = _step(client, env, "sr-nobody", "content", headers, json={"promotion_id": ""})
    assert res.status_code == 422 and res.json()["error"]["details"][0]["loc"] == ["body", "promotion_id"]
