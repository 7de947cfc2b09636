"""Onboarding through the API: PUT a merchant, product or creator, validated like an import row, idempotent, and
recommended without retraining in this worker and in a second one (a second app over the same store)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.serving.conftest import TestClient, key

pytestmark = pytest.mark.backends("sqlite", "postgresql")

WITHIN_S = 5.0  # the bound: a written entity is recommended within 5 s, without training


def _store(env):  # type: ignore[no-untyped-def]
    from recsys.core.store import Store

    return Store.from_settings(env.settings)


def _row(env, table: str, entity_id: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """A stored row as a PUT body (the id and bookkeeping left out)."""
    from serving.entity_store import read_entity

    record = read_entity(_store(env), table, entity_id)
    assert record is not None
    body = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in record.items()}
    body.pop({"merchants": "merchant_id", "products": "product_id", "creators": "creator_id"}[table])
    return body


def _eventually(check: Callable[[], bool], within_s: float = WITHIN_S) -> float:
    """Seconds until ``check()`` holds (polling drives each app's refresh tick); fails after ``within_s``."""
    started = time.monotonic()
    while time.monotonic() - started < within_s:
        if check():
            return time.monotonic() - started
        time.sleep(0.1)
    raise AssertionError(f"not seen within {within_s} s")


def _pool_ids(client, w, creator: str, who: str, **params: Any) -> list[str]:  # type: ignore[no-untyped-def]
    res = client.get(f"/v1/creators/{creator}/products", params={"k": 200, **params}, headers=key(w, who))
    assert res.status_code == 200, res.text
    return [item["product_id"] for item in res.json()["items"]]


def _creator_ids(client, w, product: str, **params: Any) -> list[str]:  # type: ignore[no-untyped-def]
    res = client.get(f"/v1/products/{product}/creators", params={"k": 200, **params}, headers=key(w, "admin"))
    assert res.status_code == 200, res.text
    return [item["creator_id"] for item in res.json()["items"]]


@pytest.fixture(scope="module")
def second(env) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    """A second worker: another app over the same store and bundle."""
    from serving.app import create_app

    with TestClient(create_app(env.settings)) as client:
        yield client


def test_a_new_product_is_recommended_without_training_in_every_worker(client, second, env) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    body = {**_row(env, "products", w.product), "title": "onboarded twin", "listed_at": "2026-11-30T00:00:00"}
    category = body["category"]
    assert "p-onboarded-1" not in _pool_ids(second, w, w.creator, "creator", category=category)
    res = client.put("/v1/products/p-onboarded-1", json=body, headers=key(w, "merchant"))
    assert res.status_code == 201, res.text
    assert res.headers["Location"] == "/v1/products/p-onboarded-1"
    assert res.json()["product_id"] == "p-onboarded-1" and res.json()["notice"] is None
    plan = {"product_id": "p-onboarded-1", "plan_type": "open", "commission_rate": 0.3}
    assert client.post("/v1/plans", json=plan, headers=key(w, "merchant")).status_code == 201
    for worker in (client, second):
        _eventually(
            lambda worker=worker: "p-onboarded-1" in _pool_ids(worker, w, w.creator, "creator", category=category)
        )
    item = next(
        i
        for i in client.get(
            f"/v1/creators/{w.creator}/products",
            params={"k": 200, "category": category},
            headers=key(w, "creator"),
        ).json()["items"]
        if i["product_id"] == "p-onboarded-1"
    )
    assert item["commission_rate"] == 0.3 and item["merchant_id"] == w.merchant and item["title"] == "onboarded twin"
    score = client.post(
        "/v1/score", json={"pairs": [{"creator_id": w.creator, "product_id": "p-onboarded-1"}]}, headers=key(w, "admin")
    )
    assert score.status_code == 200 and score.json()["items"][0]["eligible"] is True


def test_a_new_creator_is_recommended_without_training_in_every_worker(client, second, env) -> None:  # type: ignore[no-untyped-def]
    from recsys.core.keys import create_key

    w = env.world
    body = {**_row(env, "creators", w.creator), "name": "onboarded creator", "joined_at": "2026-11-29T00:00:00"}
    res = client.put("/v1/creators/c-onboarded-1", json=body, headers=key(w, "admin"))
    assert res.status_code == 201, res.text
    region = body["region"]
    for worker in (client, second):
        _eventually(lambda worker=worker: "c-onboarded-1" in _creator_ids(worker, w, w.product, region=region))
    # the creator's own pool, from its content alone
    w.keys["onboarded"] = create_key(_store(env), "creator", "c-onboarded-1")[1]
    assert len(_pool_ids(client, w, "c-onboarded-1", "onboarded", k=10)) == 10
    # and the creator may edit its own profile
    res = client.put("/v1/creators/c-onboarded-1", json={**body, "followers": 51_000}, headers=key(w, "onboarded"))
    assert res.status_code == 200 and res.json()["followers"] == 51_000


@pytest.mark.parametrize(
    ("table", "path", "change", "field"),
    [
        ("creators", "/v1/creators/c-bad", {"followers": -5}, "followers"),
        ("creators", "/v1/creators/c-bad", {"aud_female": 0.9}, "aud_female"),
        ("creators", "/v1/creators/c-bad", {"categories": []}, "categories"),
        ("products", "/v1/products/p-bad", {"price": 0}, "price"),
        ("products", "/v1/products/p-bad", {"merchant_id": "no-such-merchant"}, "merchant_id"),
        ("merchants", "/v1/merchants/m-bad", {"good_review_rate": 1.5}, "good_review_rate"),
        ("merchants", "/v1/merchants/m-bad", {"name": "  "}, "name"),
    ],
)
def test_a_bad_field_is_a_422_naming_it(client, env, table: str, path: str, change: dict[str, Any], field: str) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    source = {"creators": w.creator, "products": w.product, "merchants": w.merchant}[table]
    res = client.put(path, json={**_row(env, table, source), **change}, headers=key(w, "admin"))
    assert res.status_code == 422, res.text
    error = res.json()["error"]
    assert error["code"] == "invalid_request" and field in error["message"]
    assert any(d["loc"] == ["body", field] for d in error["details"]), error["details"]
    assert (
        _store(env)
        .read_rows(
            table,
            {"creators": "creator_id", "products": "product_id"}.get(table, "merchant_id"),
            [path.rsplit("/", 1)[1]],
        )
        .empty
    )


def test_a_wrong_type_or_unknown_field_is_a_422_too(client, env) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    body = _row(env, "creators", w.creator)
    for change in ({"followers": "many"}, {"follower_count": 3}):
        res = client.put("/v1/creators/c-bad", json={**body, **change}, headers=key(w, "admin"))
        assert res.status_code == 422 and res.json()["error"]["code"] == "invalid_request"


def test_the_same_put_twice_is_one_entity_and_the_same_answer(client, env) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    store = _store(env)
    body = {**_row(env, "merchants", w.other_merchant), "name": "twice"}
    first = client.put("/v1/merchants/m-twice", json=body, headers=key(w, "admin"))
    revision = store.current_revision()
    count = store.count("merchants")
    again = client.put("/v1/merchants/m-twice", json=body, headers=key(w, "admin"))
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    assert store.count("merchants") == count and store.current_revision() == revision  # nothing written


def test_tenants_write_only_their_own(client, env) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    product = _row(env, "products", w.product)
    # another merchant's product, existing or new
    res = client.put(f"/v1/products/{w.product}", json=product, headers=key(w, "other_merchant"))
    assert res.status_code == 403 and "another merchant" in res.json()["error"]["message"]
    res = client.put("/v1/products/p-stolen", json=product, headers=key(w, "other_merchant"))
    assert res.status_code == 403
    res = client.put(
        f"/v1/products/{w.product}", json={**product, "merchant_id": w.other_merchant}, headers=key(w, "other_merchant")
    )
    assert res.status_code == 403
    # creators write products, merchants or other creators: no; merchants are the admin's
    assert client.put("/v1/products/p-x", json=product, headers=key(w, "creator")).status_code == 403
    creator = _row(env, "creators", w.other_creator)
    assert client.put(f"/v1/creators/{w.other_creator}", json=creator, headers=key(w, "creator")).status_code == 403
    assert client.put(f"/v1/creators/{w.other_creator}", json=creator, headers=key(w, "merchant")).status_code == 403
    merchant = _row(env, "merchants", w.merchant)
    assert client.put(f"/v1/merchants/{w.merchant}", json=merchant, headers=key(w, "merchant")).status_code == 403
    assert client.put(f"/v1/merchants/{w.merchant}", json=merchant).status_code == 401


def test_a_merchant_below_closure_leaves_every_pool(client, second, env) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    category = _row(env, "products", w.product)["category"]
    assert w.product in _pool_ids(client, w, w.creator, "creator", category=category)
    merchant = _row(env, "merchants", w.merchant)
    closure = env.settings.rules.experience_closure_100
    res = client.put(
        f"/v1/merchants/{w.merchant}",
        json={**merchant, "experience_score": closure - 5, "joined_at": "2025-01-01T00:00:00"},
        headers=key(w, "admin"),
    )
    assert res.status_code == 200, res.text
    for worker in (client, second):
        _eventually(
            lambda worker=worker: w.product not in _pool_ids(worker, w, w.creator, "creator", category=category)
        )
