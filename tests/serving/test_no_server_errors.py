"""Inputs the OpenAPI schema allows, at their edges, never give a 5xx (issue 19 found each of these as a 500)."""

from __future__ import annotations

from typing import Any

import pytest

from serving.pagination import encode_cursor
from tests.serving.conftest import key


def _run_id(client, env) -> str:  # type: ignore[no-untyped-def]
    return str(client.get("/readyz").json()["model_run_id"])


def test_an_empty_candidate_set_is_an_empty_page(client, env) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    for rate in (0.5, 0.99, 1.0):
        res = client.get(f"/v1/creators/{w.creator}/products?min_commission={rate}", headers=key(w, "admin"))
        assert res.status_code == 200, res.text
        if not res.json()["items"]:
            assert res.json()["notice"]["code"] == "no_match_for_filters"


@pytest.mark.parametrize("offset", [0, 990, 999, 1000])
def test_deep_cursors_are_answered(client, env, offset: int) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    cursor = encode_cursor(offset, _run_id(client, env))
    for path in (
        f"/v1/creators/{w.creator}/products",
        f"/v1/products/{w.product}/creators",
        f"/v1/merchants/{w.merchant}/creators",
    ):
        for k in (1, 10, 200):
            res = client.get(path, params={"cursor": cursor, "k": k}, headers=key(w, "admin"))
            assert res.status_code in (200, 422), (path, k, res.text)


EXTREMES: list[dict[str, Any]] = [
    {"min_followers": 2**63},
    {"min_followers": 2**64 + 5},
    {"min_followers": -(2**70)},
    {"budget": 1e300},
    {"commission_rate": 1e300},
    {"commission_rate": -1e300},
    {"plan_type": "tiered", "tiers": [{"min_amount": 1e300, "rate": 0.2}]},
    {"plan_type": "tiered", "tiers": [{"min_amount": -1e300, "rate": 0.2}]},
    {"starts_at": "9999-12-31T23:59:59Z"},
    {"starts_at": "0001-01-01T00:00:00Z"},
    {"ends_at": "9999-12-31T23:59:59+14:00"},
]


@pytest.mark.parametrize("fields", EXTREMES, ids=[str(e) for e in EXTREMES])
def test_extreme_plan_values_are_never_server_errors(client, env, fields: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    body = {"product_id": w.product, "plan_type": "open", "commission_rate": 0.2, **fields}
    res = client.post("/v1/plans", json=body, headers=key(w, "admin"))
    dated = "starts_at" in fields or "ends_at" in fields  # a far start is a legal scheduled plan
    assert res.status_code < 500 if dated else res.status_code == 422, res.text
    plan = client.get(f"/v1/merchants/{w.merchant}/plans", headers=key(w, "admin")).json()["items"][0]["plan_id"]
    res = client.patch(f"/v1/plans/{plan}", json=fields, headers=key(w, "admin"))
    assert res.status_code < 500, res.text


def test_non_finite_numbers_are_refused(client, env) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    for raw in (
        '{"product_id": "%s", "plan_type": "open", "commission_rate": NaN}',
        '{"product_id": "%s", "plan_type": "open", "commission_rate": 0.2, "budget": Infinity}',
    ):
        res = client.post(
            "/v1/plans", content=raw % w.product, headers={**key(w, "admin"), "content-type": "application/json"}
        )
        assert res.status_code == 422, res.text


@pytest.mark.parametrize("value", [2**63, 2**64, -(2**63) - 1, 1e300])
def test_extreme_event_numbers_are_quarantined(client, env, value: float) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    data = {
        "promotion_id": f"pr-x-{abs(hash(value)) % 10**8}",
        "creator_id": w.creator,
        "product_id": w.product,
        "started_at": "2026-11-20T12:00:00Z",
        "format": "video",
        "views": value,
        "likes": 0,
        "comments": 0,
        "shares": 0,
        "completion_rate": 0.4,
        "clicks": 0,
        "orders": 0,
        "gmv": 0.0,
        "refunds": 0,
    }
    body = {"events": [{"event_id": f"evt-x-{abs(hash(value)) % 10**8}", "kind": "promotion", "data": data}]}
    res = client.post("/v1/events", json=body, headers=key(w, "admin"))
    assert res.status_code < 500, res.text


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1])
def test_extreme_entity_numbers_are_client_errors(client, env, value: int) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    body = {
        "name": "Acme",
        "joined_at": "2026-11-01T00:00:00Z",
        "experience_score": 82.5,
        "good_review_rate": 0.93,
        "violations_90d": value,
        "alliance_closures": 0,
        "region": "east",
    }
    res = client.put("/v1/merchants/m-extreme", json=body, headers=key(w, "admin"))
    assert res.status_code == 422, res.text


def test_non_finite_entity_numbers_are_refused(client, env) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    raw = (
        '{"name": "Acme", "joined_at": "2026-11-01T00:00:00Z", "experience_score": NaN, "good_review_rate": 0.93, '
        '"violations_90d": 0, "alliance_closures": 0, "region": "east"}'
    )
    res = client.put(
        "/v1/merchants/m-nan", content=raw, headers={**key(w, "admin"), "content-type": "application/json"}
    )
    assert res.status_code == 422, res.text
