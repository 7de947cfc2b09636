"""New partners by default: lists leave out existing collaborations unless a request asks for them (issue 13),
checked through the HTTP API against the promotions in the store."""

from __future__ import annotations

from recsys.core.keys import create_key
from recsys.core.store import Store
from tests.serving.conftest import key


def _promotions(env):  # type: ignore[no-untyped-def]
    store = Store(env.settings.resolved_database_url)
    try:
        return store.read_table("promotions"), store
    except Exception:
        store.dispose()
        raise


def test_creator_pool_has_no_existing_collaborations_unless_asked(client, env) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    promotions, store = _promotions(env)
    store.dispose()
    # the admitted creator with the most distinct promoted products (so the default pool would have shown some)
    done = promotions.groupby("creator_id")["product_id"].agg(set)
    url = f"/v1/creators/{w.creator}/products"
    default = client.get(url, params={"k": 100}, headers=key(w, "creator")).json()["items"]
    shown = {i["product_id"] for i in default}
    assert default and not shown & done.get(w.creator, set())
    assert not any(i["existing"] for i in default)
    both = client.get(url, params={"k": 100, "include_existing": "true"}, headers=key(w, "creator")).json()["items"]
    labelled = {i["product_id"] for i in both if i["existing"]}
    assert labelled, "the fixture creator's existing products reach its pool when asked for"
    assert labelled == {i["product_id"] for i in both} & done[w.creator]


def test_product_creators_have_no_existing_collaborations_unless_asked(client, env) -> None:  # type: ignore[no-untyped-def]
    promotions, store = _promotions(env)
    try:
        products = store.read_table("products").set_index("product_id")
        by_product = promotions.groupby("product_id")["creator_id"].agg(set)
        headers = {"X-API-Key": create_key(store, "admin")[1]}
    finally:
        store.dispose()
    checked = 0
    for product_id in by_product.sort_values(key=lambda s: -s.map(len)).index[:5]:
        assert products.loc[product_id, "merchant_id"]
        url = f"/v1/products/{product_id}/creators"
        default = client.get(url, params={"k": 100}, headers=headers).json()["items"]
        both = client.get(url, params={"k": 100, "include_existing": True}, headers=headers).json()["items"]
        assert not {i["creator_id"] for i in default} & by_product[product_id]
        assert not any(i["existing"] for i in default)
        labelled = {i["creator_id"] for i in both if i["existing"]}
        assert labelled == {i["creator_id"] for i in both} & by_product[product_id]
        checked += bool(labelled)
    assert checked, "some of the most promoted products list existing creators when asked"


def test_a_promotion_event_makes_the_pair_existing_at_once(client, env) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    url = f"/v1/creators/{w.other_creator}/products"
    before = client.get(url, params={"k": 5}, headers=key(w, "other_creator")).json()["items"]
    top = before[0]
    promotions, store = _promotions(env)
    store.dispose()
    row = promotions.iloc[0].to_dict()
    row.update(
        promotion_id="ev-new-partner",
        creator_id=w.other_creator,
        product_id=top["product_id"],
        plan_id=top["plan_id"],
        started_at=row["started_at"].isoformat(),
    )
    data = {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
    event = {"event_id": "ev-new-partner", "kind": "promotion", "data": data}
    answer = client.post("/v1/events", json={"events": [event]}, headers=key(w, "admin")).json()
    assert answer["results"][0]["status"] == "accepted", answer
    after = client.get(url, params={"k": 5}, headers=key(w, "other_creator")).json()["items"]
    assert top["product_id"] not in {i["product_id"] for i in after}
    both = client.get(url, params={"k": 5, "include_existing": True}, headers=key(w, "other_creator")).json()
    labelled = [i for i in both["items"] if i["product_id"] == top["product_id"]]
    assert labelled and labelled[0]["existing"]
