"""The demo writes orders in every settlement state for its creator, the same ones for the same seed."""

from __future__ import annotations

from tests.serving.conftest import key


def test_the_demo_creator_has_orders_in_every_state(client, env) -> None:  # type: ignore[no-untyped-def]
    from recsys.core.store import Store, now_utc
    from serving.demo_orders import demo_order_events, seed_demo_orders

    w = env.world
    now = now_utc().replace(microsecond=0)
    store = Store(env.settings.resolved_database_url)
    try:
        first = seed_demo_orders(env.settings, store, w.creator, now)
        again = seed_demo_orders(env.settings, store, w.creator, now)
    finally:
        store.dispose()
    assert first["orders"] == 28 and first["settled"] == 10
    assert again == {"orders": 0, "settled": 0}  # same event ids: duplicates, nothing new is due
    body = client.get(f"/v1/creators/{w.creator}/statement", headers=key(w, "creator")).json()
    counts = {s: body["totals"][s]["orders"] for s in ("pending", "settleable", "paid", "refunded")}
    assert counts == {"pending": 10, "settleable": 4, "paid": 10, "refunded": 4}
    assert body["balance"]["available"] == body["totals"]["paid"]["commission"] != "0.00"

    promotions = [{"promotion_id": "p1", "started_at": now.replace(year=now.year - 1), "gmv": 500.0, "orders": 5}]
    one = [e.data for e in demo_order_events(promotions, 7, now, 15)]
    assert one == [e.data for e in demo_order_events(promotions, 7, now, 15)]
    assert one != [e.data for e in demo_order_events(promotions, 8, now, 15)]
