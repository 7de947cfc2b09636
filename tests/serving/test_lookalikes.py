"""Lookalikes through HTTP: similar creators (相似达人) and creators like a merchant's best performers."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from recsys.core.store import now_utc
from tests.serving.conftest import key

WITHIN_S = 30.0


def _similar(client, env, creator: str, who: str = "merchant", **params: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    res = client.get(f"/v1/creators/{creator}/similar", params=params, headers=key(env.world, who))
    assert res.status_code == 200, res.text
    body: dict[str, Any] = res.json()
    return body


def _lookalikes(client, env, **params: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    w = env.world
    res = client.get(f"/v1/merchants/{w.merchant}/lookalikes", params=params, headers=key(w, "merchant"))
    assert res.status_code == 200, res.text
    body: dict[str, Any] = res.json()
    return body


def _eventually(check: Callable[[], bool]) -> None:
    """Poll (each request drives the app's refresh tick) until ``check()`` holds; fails after WITHIN_S."""
    started = time.monotonic()
    while time.monotonic() - started < WITHIN_S:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"not seen within {WITHIN_S} s")


def test_similar_creators_are_admitted_others_with_their_traits(client, env) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    body = _similar(client, env, w.creator, k=10)
    items = body["items"]
    assert body["creator_id"] == w.creator and len(items) == 10
    assert w.creator not in [i["creator_id"] for i in items]
    sims = [i["similarity"] for i in items]
    assert sims == sorted(sims, reverse=True) and all(-1 <= s <= 1 for s in sims)
    first = items[0]
    assert first["fan_tier"] in ("nano", "micro", "mid", "macro", "mega") and first["followers"] >= 0
    assert first["main_category"] and first["resembles"] is None
    # a lookalike is itself a creator with lookalikes
    assert _similar(client, env, first["creator_id"], k=3)["items"]


def test_a_creator_who_is_not_admitted_is_never_a_lookalike(client, env) -> None:  # type: ignore[no-untyped-def]
    from recsys.core.store import Store
    from serving.entity_store import read_entity

    w = env.world
    store = Store.from_settings(env.settings)
    try:
        record = read_entity(store, "creators", w.creator)
    finally:
        store.dispose()
    assert record is not None
    body = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in record.items() if k != "creator_id"}
    twin = {**body, "name": "unpaid twin", "deposit_paid": False}  # creator admission: deposit unpaid
    assert client.put("/v1/creators/c-twin-unpaid", json=twin, headers=key(w, "admin")).status_code == 201
    url = "/v1/creators/c-twin-unpaid/similar"
    _eventually(lambda: client.get(url, headers=key(w, "admin")).status_code == 200)  # known to the model now
    listed = [i["creator_id"] for i in _similar(client, env, w.creator, k=200)["items"]]
    assert "c-twin-unpaid" not in listed and len(listed) > 10
    own = _similar(client, env, "c-twin-unpaid", "admin", k=5)["items"]  # it may still ask for its own lookalikes
    assert len(own) == 5 and "c-twin-unpaid" not in [i["creator_id"] for i in own]


def test_merchant_lookalikes_resemble_its_best_performers_and_skip_partners(client, env) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    body = _lookalikes(client, env, k=10, min_views=0)
    performers = [p["creator_id"] for p in body["top_performers"]]
    assert performers and body["min_views"] == 0
    gpms = [p["realized_gpm"] for p in body["top_performers"]]
    assert gpms == sorted(gpms, reverse=True)
    assert len(body["items"]) == 10
    assert all(i["resembles"] in performers and i["creator_id"] not in performers for i in body["items"])
    newcomer = body["items"][0]["creator_id"]
    plan = client.post(
        "/v1/score", json={"pairs": [{"creator_id": w.creator, "product_id": w.product}]}, headers=key(w, "admin")
    ).json()["items"][0]["plan_id"]
    data = {
        "promotion_id": "pr-lookalike-1",
        "creator_id": newcomer,
        "product_id": w.product,
        "plan_id": plan,
        "started_at": (now_utc() - timedelta(days=1)).isoformat(),
        "format": "video",
        "views": 100,
        "likes": 1,
        "comments": 0,
        "shares": 0,
        "completion_rate": 0.3,
        "clicks": 2,
        "orders": 0,
        "gmv": 0.0,
        "refunds": 0,
    }
    event = {"event_id": "ev-pr-lookalike-1", "kind": "promotion", "data": data}
    assert client.post("/v1/events", json={"events": [event]}, headers=key(w, "admin")).json()["accepted"] == 1
    after = _lookalikes(client, env, k=10, min_views=0)
    assert newcomer not in [i["creator_id"] for i in after["items"]]  # now a partner
    assert after["excluded_partners"] == body["excluded_partners"] + 1


def test_a_high_view_threshold_leaves_no_performers(client, env) -> None:  # type: ignore[no-untyped-def]
    body = _lookalikes(client, env, min_views=10**11)
    assert body["top_performers"] == [] and body["items"] == []


@pytest.mark.parametrize(
    ("who", "path", "status"),
    [
        ("creator", "/v1/creators/{creator}/similar", 200),
        ("other_creator", "/v1/creators/{creator}/similar", 403),
        ("other_merchant", "/v1/creators/{creator}/similar", 200),
        ("admin", "/v1/creators/{creator}/similar", 200),
        (None, "/v1/creators/{creator}/similar", 401),
        ("merchant", "/v1/merchants/{merchant}/lookalikes", 200),
        ("admin", "/v1/merchants/{merchant}/lookalikes", 200),
        ("other_merchant", "/v1/merchants/{merchant}/lookalikes", 403),
        ("creator", "/v1/merchants/{merchant}/lookalikes", 403),
    ],
)
def test_who_may_ask(client, env, who: str | None, path: str, status: int) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    headers = key(w, who) if who else {}
    res = client.get(path.format(creator=w.creator, merchant=w.merchant), headers=headers)
    assert res.status_code == status, res.text


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/v1/creators/c-nobody/similar", 404, "unknown_creator"),
        ("/v1/merchants/m-nobody/lookalikes", 404, "unknown_merchant"),
        ("/v1/creators/{creator}/similar?k=0", 422, "invalid_request"),
        ("/v1/creators/{creator}/similar?k=201", 422, "invalid_request"),
        ("/v1/creators/{creator}/similar?k=many", 422, "invalid_request"),
        ("/v1/merchants/{merchant}/lookalikes?k=-1", 422, "invalid_request"),
        ("/v1/merchants/{merchant}/lookalikes?min_views=-5", 422, "invalid_request"),
    ],
)
def test_bad_ids_and_bad_k_are_clear_client_errors(client, env, path: str, status: int, code: str) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    res = client.get(path.format(creator=w.creator, merchant=w.merchant), headers=key(w, "admin"))
    assert res.status_code == status, res.text
    error = res.json()["error"]
    assert error["code"] == code and set(error) == {"code", "message", "details"}
    if status == 422:
        assert error["details"][0]["loc"][0] == "query"
