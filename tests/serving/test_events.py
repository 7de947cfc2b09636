"""Events: validated like an import, idempotent by event id, bad ones quarantined with their reason."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from tests.serving.conftest import key

pytestmark = pytest.mark.backends("sqlite", "postgresql")


@pytest.fixture(scope="module")
def store(env):  # type: ignore[no-untyped-def]
    from recsys.core.store import Store

    store = Store.from_settings(env.settings)
    yield store
    store.dispose()


@pytest.fixture(scope="module")
def promotion(store) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    row = store.read_table("promotions").iloc[0].to_dict()
    row["started_at"] = row["started_at"].isoformat()
    return {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}


def _event(event_id: str, kind: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"event_id": event_id, "kind": kind, "data": data}


def _post(client, env, events: list[dict[str, Any]]):  # type: ignore[no-untyped-def]
    return client.post("/v1/events", json={"events": events}, headers=key(env.world, "admin"))


def test_a_batch_is_accepted_quarantined_and_idempotent(client, env, store, promotion) -> None:  # type: ignore[no-untyped-def]
    good = {**promotion, "promotion_id": "ev-pr-1"}
    bad = {**promotion, "promotion_id": "ev-pr-2", "views": -3, "creator_id": "nobody"}
    order = {
        "order_id": "ev-o-1",
        "promotion_id": "ev-pr-1",
        "amount": 99.5,
        "created_at": "2026-06-01T10:00:00Z",
        "confirmed_at": None,
        "refunded_at": None,
        "status": "placed",
    }
    batch = [
        _event("e1", "promotion", good),
        _event("e2", "promotion", bad),
        _event("e3", "order", order),
        _event("e1", "promotion", good),
    ]
    promotions_before = store.count("promotions")
    res = _post(client, env, batch)
    assert res.status_code == 200, res.text
    body = res.json()
    assert [r["status"] for r in body["results"]] == ["accepted", "quarantined", "accepted", "duplicate"]
    assert (body["accepted"], body["quarantined"], body["duplicates"]) == (2, 1, 1)
    reason = body["results"][1]["reason"]
    assert "views" in reason and "creator_id" in reason
    assert store.count("promotions") == promotions_before + 1 and store.count("orders") == 1
    from recsys.core.schema import QUARANTINED_EVENTS

    with store.engine.connect() as conn:
        kept = conn.execute(sa.select(QUARANTINED_EVENTS)).mappings().all()
    assert [(r["event_id"], r["kind"]) for r in kept] == [("e2", "promotion")]
    assert kept[0]["payload"]["promotion_id"] == "ev-pr-2" and "views" in kept[0]["reason"]

    revision = store.current_revision()
    again = _post(client, env, batch[:1] + batch[2:3]).json()
    assert [r["status"] for r in again["results"]] == ["duplicate", "duplicate"] and again["revision"] is None
    assert store.current_revision() == revision and store.count("promotions") == promotions_before + 1


def test_a_corrected_event_may_be_sent_again(client, env, store, promotion) -> None:  # type: ignore[no-untyped-def]
    first = _post(client, env, [_event("fix-1", "promotion", {**promotion, "promotion_id": "ev-pr-3", "orders": 99})])
    assert first.json()["results"][0]["status"] == "quarantined"
    assert "orders" in first.json()["results"][0]["reason"]
    fixed = _post(client, env, [_event("fix-1", "promotion", {**promotion, "promotion_id": "ev-pr-3"})])
    assert fixed.json()["results"][0]["status"] == "accepted"


def test_unknown_fields_and_nested_values_are_quarantined(client, env, promotion) -> None:  # type: ignore[no-untyped-def]
    typo = {**promotion, "promotion_id": "ev-pr-4", "gvm": 1.0}
    nested = {**promotion, "promotion_id": "ev-pr-5", "views": {"a": 1}}
    wrong_type = {**promotion, "promotion_id": "ev-pr-6", "gmv": "lots", "started_at": "yesterday"}
    body = _post(
        client,
        env,
        [
            _event("t1", "promotion", typo),
            _event("t2", "promotion", nested),
            _event("t3", "promotion", wrong_type),
            _event("t4", "order", {}),
        ],
    ).json()
    assert [r["status"] for r in body["results"]] == ["quarantined"] * 4
    reasons = [r["reason"] for r in body["results"]]
    assert "'gvm'" in reasons[0] and reasons[1].startswith("views:")
    assert "gmv" in reasons[2] and "started_at" in reasons[2] and "order_id" in reasons[3]


def test_batches_are_bounded(client, env) -> None:  # type: ignore[no-untyped-def]
    events = [_event(f"b{i}", "order", {}) for i in range(1001)]
    assert _post(client, env, events).status_code == 422
    assert _post(client, env, []).status_code == 422


def test_a_resent_bad_event_is_quarantined_once(client, env, store, promotion) -> None:  # type: ignore[no-untyped-def]
    """8 identical batches of 10 bad events leave 10 quarantine rows, not 80 (one per event id, the latest)."""
    from recsys.core.schema import QUARANTINED_EVENTS

    bad = [
        _event(f"q-once-{i}", "promotion", {**promotion, "promotion_id": f"q-pr-{i}", "views": -1}) for i in range(10)
    ]
    for _ in range(8):
        body = _post(client, env, bad).json()
        assert body["quarantined"] == 10
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.select(QUARANTINED_EVENTS.c.event_id).where(QUARANTINED_EVENTS.c.event_id.like("q-once-%"))
        ).scalars()
        kept = sorted(rows)
    assert kept == sorted(f"q-once-{i}" for i in range(10))
