"""List responses built as plain dicts and serialized once (serving/views.py) say exactly what the pydantic models
said: each body validates against its declared response model, keys come in the model's field order, and every
item equals, field by field, the matcher's recommendation for the same request and the pydantic-model path."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from models.matching.matcher import Recommendation
from recsys.core.vocab import CreatorSort
from serving.schemas import CreatorList, CreatorRecommendation, ProductPool, ProductRecommendation
from serving.views import creator_item, product_item
from tests.serving.conftest import key

K = 15


def _state(client):  # type: ignore[no-untyped-def]
    return client.app.state.service.state()


def _same_as_model(body: bytes, model: type[BaseModel]) -> dict[str, Any]:
    """The body parsed, after checking it validates against ``model`` and round-trips through it unchanged."""
    parsed = model.model_validate_json(body)
    out = parsed.model_dump(mode="json")
    assert list(out) == list(model.model_fields)
    return out


def _check_items(items: list[dict[str, Any]], recs: list[Recommendation], item_model: type[BaseModel]) -> None:
    assert len(items) == len(recs) > 0
    for item, rec in zip(items, recs, strict=True):
        assert list(item) == list(item_model.model_fields)  # the documented order, as the model path wrote it
        assert item.get("creator_id", rec.creator_id) == rec.creator_id
        assert item["product_id"] == rec.product_id
        assert item["score"] == rec.score and item["fit_score"] == rec.fit_score
        assert item["predicted_gmv"] == rec.predicted_gmv
        assert item["predicted_gmv_interval"] == {"low": rec.predicted_gmv_low, "high": rec.predicted_gmv_high}
        assert item["commission_rate"] == rec.commission_rate and item["plan_id"] == rec.plan_id
        assert item["plan_type"] == (rec.plan_type.value if rec.plan_type is not None else None)
        assert item["existing"] is rec.existing and item["creator_capacity_left"] == rec.creator_capacity_left
        assert [(r["code"], r["params"], r["text"]) for r in item["reasons"]] == [
            (r.code.value, r.params, r.text) for r in rec.reasons
        ]


def test_a_creators_pool_is_the_model_path_and_the_matchers_list(client, env) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    res = client.get(f"/v1/creators/{w.creator}/products", params={"k": K}, headers=key(w, "creator"))
    assert res.status_code == 200 and res.headers["content-type"] == "application/json"
    body = _same_as_model(res.content, ProductPool)
    assert body == res.json()
    state = _state(client)
    recs = state.matcher.recommend_products(w.creator, K)
    _check_items(body["items"], recs, ProductRecommendation)
    assert body["items"] == [product_item(state, r).model_dump(mode="json") for r in recs]
    first = body["items"][0]
    row = state.bundle.engine.tables.products.row(first["product_id"])
    assert first["title"] == state.matcher.catalog.product_title[row]


@pytest.mark.parametrize("sort", ["fit", "expected_gmv"])
def test_a_products_creators_are_the_model_path_and_the_matchers_list(client, env, sort) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    res = client.get(f"/v1/products/{w.product}/creators", params={"k": K, "sort": sort}, headers=key(w, "merchant"))
    assert res.status_code == 200
    body = _same_as_model(res.content, CreatorList)
    assert body == res.json() and body["merchant_id"] is None and body["product_id"] == w.product
    state = _state(client)
    recs = state.matcher.recommend_creators(w.product, K, sort=CreatorSort(sort))
    _check_items(body["items"], recs, CreatorRecommendation)
    assert body["items"] == [creator_item(state, r).model_dump(mode="json") for r in recs]
    first = body["items"][0]
    assert first["followers"] == int(
        state.matcher.catalog.creator_followers[state.bundle.engine.tables.creators.row(first["creator_id"])]
    )


def test_a_shops_creators_and_an_empty_page_keep_the_documented_shape(client, env) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    res = client.get(f"/v1/merchants/{w.merchant}/creators", params={"k": K}, headers=key(w, "merchant"))
    assert res.status_code == 200
    body = _same_as_model(res.content, CreatorList)
    assert body == res.json() and body["product_id"] is None and body["merchant_id"] == w.merchant
    state = _state(client)
    recs = state.matcher.recommend_creators_for_merchant(w.merchant, K)
    _check_items(body["items"], recs, CreatorRecommendation)

    none_match = client.get(f"/v1/creators/{w.creator}/products", params={"price_min": 1e11}, headers=key(w, "creator"))
    assert none_match.status_code == 200
    empty = _same_as_model(none_match.content, ProductPool)
    assert empty["items"] == [] and empty["next_cursor"] is None
    assert empty["notice"]["code"] == "no_match_for_filters" and empty["notice"]["message"]
