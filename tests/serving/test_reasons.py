"""Reasons through the HTTP API: every item's reasons carry a code from the closed set, the exact figures and the
sentence; a merchant's list quotes each creator's followers exactly as the item states them; lists of 20 vary."""

from __future__ import annotations

from recsys.core.vocab import ReasonCode
from tests.serving.conftest import key

CODES = {c.value for c in ReasonCode}


def _reasons_of(items: list[dict]) -> list[dict]:  # type: ignore[type-arg]
    reasons = [r for item in items for r in item["reasons"]]
    for r in reasons:
        assert set(r) == {"code", "params", "text", "contribution"}
        assert r["code"] in CODES and r["text"] and r["contribution"] > 0
        assert r["params"] and all(isinstance(v, int | float | str) for v in r["params"].values())
    return reasons


def test_a_creators_pool_explains_each_product_with_typed_varied_reasons(client, env) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    res = client.get(f"/v1/creators/{w.creator}/products", params={"k": 20}, headers=key(w, "creator"))
    assert res.status_code == 200
    items = res.json()["items"]
    assert items and all(1 <= len(i["reasons"]) <= 3 for i in items)
    codes = {r["code"] for r in _reasons_of(items)}
    assert len(codes) >= 4 and not codes & {"reach", "strong_content", "creator_sales"}  # about the product


def test_a_merchants_list_quotes_each_creators_followers_exactly(client, env) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    res = client.get(f"/v1/products/{w.product}/creators", params={"k": 20}, headers=key(w, "merchant"))
    assert res.status_code == 200
    items = res.json()["items"]
    assert len({r["code"] for r in _reasons_of(items)}) >= 4
    reach = [(i, r) for i in items for r in i["reasons"] if r["code"] == "reach"]
    assert reach
    for item, reason in reach:
        assert reason["params"]["followers"] == item["followers"]  # the stored integer, not a log undone
        assert reason["text"].startswith(f"{item['followers']:,} followers")


def test_the_schema_lists_every_reason_code(client) -> None:  # type: ignore[no-untyped-def]
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    assert set(schemas["ReasonCode"]["enum"]) == CODES
    assert set(schemas["Reason"]["required"]) == {"code", "params", "text", "contribution"}
