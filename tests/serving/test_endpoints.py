"""Happy paths of every endpoint, on the fixture bundle, with the keys of the right tenants."""

from __future__ import annotations

import pytest

from tests.serving.conftest import key

pytestmark = pytest.mark.backends("sqlite", "postgresql")


def test_health_and_readiness(client, env) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "ready" and body["creators"] == 300 and body["products"] == 1200 and body["plans"] > 0


def test_creator_pool_is_explained_and_pages_continue(client, env) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    first = client.get(f"/v1/creators/{w.creator}/products", params={"k": 5}, headers=key(w, "creator"))
    assert first.status_code == 200
    page = first.json()
    assert len(page["items"]) == 5 and page["next_cursor"]
    item = page["items"][0]
    assert item["product_id"] == w.product and item["plan_id"] and item["commission_rate"] > 0
    assert item["expected_earnings"] >= 0 and 0 <= item["fit_score"] <= 1 and item["reasons"]
    second = client.get(
        f"/v1/creators/{w.creator}/products",
        params={"k": 5, "cursor": page["next_cursor"]},
        headers=key(w, "creator"),
    ).json()
    both = client.get(f"/v1/creators/{w.creator}/products", params={"k": 10}, headers=key(w, "creator")).json()
    assert [i["product_id"] for i in page["items"] + second["items"]] == [i["product_id"] for i in both["items"]]


def test_creator_pool_filters(client, env) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    params = {"k": 5, "category": "beauty", "min_commission": 0.1, "format": "live"}
    items = client.get(f"/v1/creators/{w.creator}/products", params=params, headers=key(w, "creator")).json()["items"]
    assert items and all(i["category"] == "beauty" and i["commission_rate"] >= 0.1 for i in items)


def test_creators_for_a_product_and_for_a_shop(client, env) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    res = client.get(f"/v1/products/{w.product}/creators", params={"k": 5}, headers=key(w, "merchant"))
    assert res.status_code == 200
    items = res.json()["items"]
    assert len(items) == 5 and all(i["product_id"] == w.product and i["predicted_gmv"] >= 0 for i in items)
    assert all(i["fan_tier"] in {"nano", "micro", "mid", "macro", "mega"} for i in items)
    tiered = client.get(
        f"/v1/products/{w.product}/creators",
        params={"k": 5, "fan_tier": items[0]["fan_tier"]},
        headers=key(w, "merchant"),
    ).json()["items"]
    assert tiered and {i["fan_tier"] for i in tiered} == {items[0]["fan_tier"]}
    shop = client.get(f"/v1/merchants/{w.merchant}/creators", params={"k": 5}, headers=key(w, "merchant")).json()
    assert shop["merchant_id"] == w.merchant and len(shop["items"]) == 5
    assert len({i["creator_id"] for i in shop["items"]}) == 5  # each creator once


def test_score_pairs(client, env) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    body = {"pairs": [{"creator_id": w.creator, "product_id": w.product}] * 3, "format": "video"}
    res = client.post("/v1/score", json=body, headers=key(w, "creator"))
    assert res.status_code == 200
    items = res.json()["items"]
    assert len(items) == 3 and items[0]["eligible"] and items[0]["plan_id"] and items[0]["refusal"] is None


def test_score_refuses_more_than_1000_pairs_and_unknown_ids(client, env) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    pair = {"creator_id": w.creator, "product_id": w.product}
    too_many = client.post("/v1/score", json={"pairs": [pair] * 1001}, headers=key(w, "admin"))
    assert too_many.status_code == 422 and too_many.json()["error"]["details"][0]["loc"][:2] == ["body", "pairs"]
    unknown = client.post(
        "/v1/score", json={"pairs": [pair, {"creator_id": w.creator, "product_id": "nope"}]}, headers=key(w, "admin")
    )
    assert unknown.status_code == 422
    assert unknown.json()["error"]["details"][0]["loc"] == ["body", "pairs", "1", "product_id"]


def test_rankings(client, env) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    for kind in ("top-creators", "new-hits", "commission-picks"):
        res = client.get(f"/v1/rankings/{kind}", params={"k": 5}, headers=key(w, "creator"))
        assert res.status_code == 200, res.text
        items = res.json()["items"]
        assert items and [i["rank"] for i in items] == list(range(1, len(items) + 1))
    creators = client.get("/v1/rankings/top-creators", headers=key(w, "merchant")).json()["items"]
    assert [c["recent_gmv"] for c in creators] == sorted((c["recent_gmv"] for c in creators), reverse=True)
    picks = client.get(
        "/v1/rankings/commission-picks", params={"category": "beauty"}, headers=key(w, "merchant")
    ).json()["items"]
    assert picks and {p["category"] for p in picks} == {"beauty"}
    assert [p["commission_rate"] for p in picks] == sorted((p["commission_rate"] for p in picks), reverse=True)


def test_merchant_plans(client, env) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    res = client.get(f"/v1/merchants/{w.merchant}/plans", headers=key(w, "merchant"))
    assert res.status_code == 200
    plans = res.json()["items"]
    assert plans and all(p["merchant_id"] == w.merchant for p in plans)
    assert any(p["product_id"] == w.product for p in plans)


def test_errors_share_one_body(client, env) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    cases = [
        client.get("/v1/creators/nobody/products", headers=key(w, "admin")),  # 404
        client.get(f"/v1/creators/{w.creator}/products", params={"k": 0}, headers=key(w, "admin")),  # 422
        client.get(f"/v1/creators/{w.creator}/products", params={"category": "nope"}, headers=key(w, "admin")),
        client.get(f"/v1/creators/{w.creator}/products", params={"cursor": "garbage"}, headers=key(w, "admin")),
        client.get("/v1/rankings/best-of", headers=key(w, "admin")),
        client.get(f"/v1/creators/{w.creator}/products", params={"min_comission": 0.2}, headers=key(w, "admin")),
        client.get(f"/v1/creators/{w.creator}/products"),  # 401
        client.get(f"/v1/creators/{w.creator}/products", headers={"X-API-Key": "rk_0123456789ab.nope"}),
        client.get("/v1/no-such-endpoint"),
    ]
    assert [r.status_code for r in cases] == [404, 422, 422, 422, 422, 422, 401, 401, 404]
    for res in cases:
        error = res.json()["error"]
        assert set(error) == {"code", "message", "details"} and error["message"]
    assert cases[0].json()["error"]["code"] == "unknown_creator"
    assert cases[1].json()["error"]["details"][0]["loc"] == ["query", "k"]
    assert "known:" in cases[2].json()["error"]["message"]
    assert cases[5].json()["error"]["details"][0]["loc"] == ["query", "min_comission"]  # a typo is an error


def test_openapi_has_every_endpoint_with_examples(client) -> None:  # type: ignore[no-untyped-def]
    spec = client.get("/openapi.json").json()
    expected = {
        ("get", "/v1/creators/{creator_id}/products"),
        ("get", "/v1/products/{product_id}/creators"),
        ("get", "/v1/merchants/{merchant_id}/creators"),
        ("post", "/v1/score"),
        ("get", "/v1/rankings/{kind}"),
        ("post", "/v1/plans"),
        ("get", "/v1/plans/{plan_id}"),
        ("patch", "/v1/plans/{plan_id}"),
        ("get", "/v1/merchants/{merchant_id}/plans"),
        ("put", "/v1/merchants/{merchant_id}"),
        ("put", "/v1/products/{product_id}"),
        ("put", "/v1/creators/{creator_id}"),
        ("post", "/v1/events"),
        ("post", "/v1/admin/reload"),
        ("get", "/healthz"),
        ("get", "/readyz"),
        ("get", "/metrics"),
    }
    found = {(m, p) for p, ops in spec["paths"].items() for m in ops}
    assert expected <= found
    schemas = spec["components"]["schemas"]
    for method, path in expected:
        op = spec["paths"][path][method]
        ok = op["responses"].get("200") or op["responses"].get("201")
        content = ok["content"]
        media = content.get("application/json") or content.get("text/plain")
        ref = media.get("schema", {}).get("$ref", "")
        has_example = "example" in media or "examples" in schemas.get(ref.rsplit("/", 1)[-1], {})
        assert has_example, f"{method.upper()} {path} has no response example"
    assert client.get("/docs").status_code == 200
