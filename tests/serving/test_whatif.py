"""Commission what-if through HTTP: the predicted place of a product in creators' pools at +3 pt is the place it
really gets once the rate is raised through the plans API; the what-if itself changes nothing; tenancy and the plan
rules' refusals are those of a plan edit."""

from __future__ import annotations

from typing import Any

import pytest

from tests.serving.conftest import key

RAISE = 0.03
EXAMINED = 20  # creators per product (the top of its creator list)
PRODUCTS = 3


def _pool_place(client, w, creator: str, product: str) -> int | None:  # type: ignore[no-untyped-def]
    """The product's 1-based place in the creator's whole pool (every page), None when the pool does not list it."""
    place, cursor = 0, None
    while True:
        params: dict[str, Any] = {"k": 200, **({"cursor": cursor} if cursor else {})}
        res = client.get(f"/v1/creators/{creator}/products", params=params, headers=key(w, "admin"))
        assert res.status_code == 200, res.text
        page = res.json()
        for item in page["items"]:
            place += 1
            if item["product_id"] == product:
                return place
        cursor = page["next_cursor"]
        if not cursor:
            return None


def _open_products(client, w) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """Products on open plans from two creators' pools: product, plan and its rate."""
    found: dict[str, dict[str, Any]] = {}
    for creator in (w.creator, w.other_creator):
        items = client.get(f"/v1/creators/{creator}/products", params={"k": 30}, headers=key(w, "admin")).json()
        for item in items["items"]:
            if item["plan_type"] == "open" and item["product_id"] not in found:
                found[item["product_id"]] = item
    chosen = list(found.values())[:PRODUCTS]
    assert len(chosen) == PRODUCTS, "the fixture pools hold too few products on open plans"
    return chosen


def _what_if(client, w, product: str, body: dict[str, Any], who: str = "admin"):  # type: ignore[no-untyped-def]
    return client.post(f"/v1/products/{product}/what-if", json=body, headers=key(w, who))


def test_predicted_places_match_the_places_after_a_real_raise(client, env) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    agree = examined = listed = moved = 0
    misses: list[tuple[str, str, Any, Any]] = []
    for item in _open_products(client, w):
        product, plan_id, rate = item["product_id"], item["plan_id"], item["commission_rate"]
        plan_before = client.get(f"/v1/plans/{plan_id}", headers=key(w, "admin")).json()
        proposed = round(plan_before["commission_rate"] + RAISE, 4)
        res = _what_if(client, w, product, {"rate": proposed, "plan_id": plan_id, "top_n": EXAMINED})
        assert res.status_code == 200, res.text
        answer = res.json()
        assert answer["plan_id"] == plan_id and answer["rate_proposed"] == proposed
        assert answer["summary"]["text"].startswith("+3 pt: median rank ")
        # nothing changed: the plan and today's places are as they were
        assert client.get(f"/v1/plans/{plan_id}", headers=key(w, "admin")).json() == plan_before
        creators = answer["creators"]
        first = creators[0]
        assert _pool_place(client, w, first["creator_id"], product) == first["rank_today"]

        patched = client.patch(f"/v1/plans/{plan_id}", json={"commission_rate": proposed}, headers=key(w, "admin"))
        assert patched.status_code == 200, patched.text
        for c in creators:
            real = _pool_place(client, w, c["creator_id"], product)
            examined += 1
            listed += real is not None
            moved += c["rank_proposed"] != c["rank_today"]
            if real == c["rank_proposed"]:
                agree += 1
            else:
                misses.append((product, c["creator_id"], c["rank_proposed"], real))
        assert rate <= proposed
    assert examined == PRODUCTS * EXAMINED
    assert listed > 0 and moved > 0, "the check needs pools that list the products and places that move"
    assert agree / examined >= 0.95, misses


def test_the_summary_counts_the_creators(client, env) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    res = _what_if(client, w, w.product, {"rate": 0.5, "top_n": 10}, who="merchant")
    assert res.status_code == 200, res.text
    answer = res.json()
    summary, creators = answer["summary"], answer["creators"]
    assert summary["creators"] == len(creators) == 10
    assert summary["improves"] + summary["worsens"] + summary["unchanged"] == 10
    assert summary["in_pool_today"] == sum(c["rank_today"] is not None for c in creators)
    assert all(c["commission_rate_proposed"] >= c["commission_rate_today"] for c in creators)
    raised = sum(c["commission_cost_proposed"] for c in creators) > sum(c["commission_cost_today"] for c in creators)
    assert raised and summary["cost_change_pct"] > 0


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"rate": 0.95}, "plan_commission_out_of_bounds", "rate"),
        ({"rate": 0.001}, "plan_commission_out_of_bounds", "rate"),
        ({"rate": 0.0101}, "plan_rate_decreased_after_launch", "rate"),
        ({"tiers": [{"min_amount": 10, "rate": 0.5}]}, "plan_tiers_not_allowed", "tiers"),
    ],
)
def test_a_refused_rate_names_the_rule_and_the_field(client, env, body, code, field) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    res = _what_if(client, w, w.product, {**body, "top_n": 5}, who="merchant")
    assert res.status_code == 422, res.text
    error = res.json()["error"]
    assert error["code"] == "plan_refused" and error["message"].startswith(f"body.{field}")
    assert {(d["code"], tuple(d["loc"])) for d in error["details"]} >= {(code, ("body", field))}


@pytest.mark.parametrize(
    ("body", "field"),
    [({"rate": 1.5}, "rate"), ({"rate": 0.2, "top_n": 501}, "top_n"), ({"rate": 0.2, "rat": 0.3}, "rat"), ({}, None)],
)
def test_a_malformed_request_is_a_422(client, env, body, field) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    res = _what_if(client, w, w.product, body, who="merchant")
    assert res.status_code == 422, res.text
    error = res.json()["error"]
    assert error["code"] == "invalid_request"
    if field is not None:
        assert ["body", field] in [d["loc"] for d in error["details"]]


def test_an_unknown_plan_is_a_422(client, env) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    res = _what_if(client, w, w.product, {"rate": 0.3, "plan_id": w.listed_plan}, who="admin")
    assert res.status_code == 422 and res.json()["error"]["code"] == "whatif_plan_unknown"
    assert res.json()["error"]["details"][0]["loc"] == ["body", "plan_id"]


def test_who_may_ask(client, env) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    body = {"rate": 0.7, "top_n": 3}  # above any rate the tests before may have set
    assert _what_if(client, w, w.product, body, who="other_merchant").status_code == 403
    assert _what_if(client, w, w.product, body, who="creator").status_code == 403
    assert client.post(f"/v1/products/{w.product}/what-if", json=body).status_code == 401
    assert _what_if(client, w, w.product, body, who="merchant").status_code == 200
    unknown = _what_if(client, w, "no-such-product", body, who="admin")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "unknown_product"
