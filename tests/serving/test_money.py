"""Figures people can act on (issue 14), through the HTTP API: every item states its horizon and 80% intervals;
merchant economics differ by creator (ROI includes the sample); merchant lists sort by fit, expected GMV or ROI."""

from __future__ import annotations

import pytest

from recsys.core.store import Store
from tests.serving.conftest import key


def _price(env, product_id: str) -> float:  # type: ignore[no-untyped-def]
    store = Store(env.settings.resolved_database_url)
    try:
        return float(store.read_table("products").set_index("product_id").loc[product_id, "price"])
    finally:
        store.dispose()


def _creators(client, w, **params):  # type: ignore[no-untyped-def]
    response = client.get(f"/v1/products/{w.product}/creators", params={"k": 50, **params}, headers=key(w, "merchant"))
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_items_state_horizon_and_intervals_around_the_point(client, env) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    pool = client.get(f"/v1/creators/{w.creator}/products", params={"k": 20}, headers=key(w, "creator")).json()
    creators = _creators(client, w)
    assert pool["items"] and creators
    for item in pool["items"] + creators:
        assert item["horizon_days"] == env.settings.ranker.label_days
        gmv = item["predicted_gmv_interval"]
        assert gmv["low"] <= item["predicted_gmv"] <= gmv["high"]
        assert gmv["low"] < gmv["high"]  # a real interval, not a point
    for item in pool["items"]:
        earn = item["expected_earnings_interval"]
        assert earn["low"] <= item["expected_earnings"] <= earn["high"]


def test_merchant_roi_includes_the_sample_and_differs_by_creator(client, env) -> None:  # type: ignore[no-untyped-def]
    items = _creators(client, env.world)
    price = _price(env, env.world.product)
    rules = env.settings.rules
    for item in items:
        assert item["sample_cost"] == pytest.approx(rules.sample_cost_share * price + rules.sample_shipping, abs=0.01)
        cost = item["expected_commission"] + item["sample_cost"]
        assert item["merchant_roi"] == pytest.approx(item["predicted_gmv"] / cost, rel=2e-3, abs=2e-3)
    same_plan = {}
    for item in items:
        same_plan.setdefault(item["plan_id"], set()).add(item["merchant_roi"])
    assert max(len(rois) for rois in same_plan.values()) > 1, "ROI differs across creators of one plan"


@pytest.mark.parametrize(("sort", "field"), [("expected_gmv", "predicted_gmv"), ("roi", "merchant_roi")])
def test_sorted_lists_are_in_the_figures_order(client, env, sort, field) -> None:  # type: ignore[no-untyped-def]
    default = _creators(client, env.world)
    items = _creators(client, env.world, sort=sort)
    values = [i[field] for i in items]
    assert values and None not in values and values == sorted(values, reverse=True)
    # the sort reaches past the default page: its head is at least as good as anything the default page shows
    assert values[0] >= max((i[field] for i in default if i[field] is not None), default=0)


def test_an_unknown_sort_is_a_422_naming_the_field(client, env) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    response = client.get(
        f"/v1/merchants/{w.merchant}/creators", params={"sort": "cheapest"}, headers=key(w, "merchant")
    )
    assert response.status_code == 422
    assert "sort" in response.text


def test_shop_level_list_sorts_by_expected_gmv(client, env) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    response = client.get(
        f"/v1/merchants/{w.merchant}/creators", params={"k": 30, "sort": "expected_gmv"}, headers=key(w, "merchant")
    )
    values = [i["predicted_gmv"] for i in response.json()["items"]]
    assert values and values == sorted(values, reverse=True)


def _flagged(env) -> set[str]:  # type: ignore[no-untyped-def]
    from models.bundle import load_current

    engine = load_current(env.settings.artifacts_dir).engine
    assert engine.engagement is not None
    return set(engine.tables.creators.ids[engine.engagement.flagged])


def test_flagged_creators_are_labelled_and_never_in_the_top_creators_list(client, env) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    flagged = _flagged(env)
    assert flagged, "the fixture world plants creators with bought engagement and the detector flags some"
    top = client.get("/v1/rankings/top-creators", params={"k": 200}, headers=key(w, "merchant")).json()["items"]
    assert top and not {i["creator_id"] for i in top} & flagged
    items = _creators(client, w, k=200)
    assert all(i["suspected_fake_engagement"] == (i["creator_id"] in flagged) for i in items)
