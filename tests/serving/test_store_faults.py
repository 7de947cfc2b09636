"""Store faults fail loudly: with the SQLite file deleted under a running service, writes answer 503 (never 2xx for
a write that would not be durable), reads never 500, and /readyz turns red with one short sentence."""

from __future__ import annotations

from typing import Any

from tests.serving.conftest import key


def _plan(product: str, plan_id: str) -> dict[str, Any]:
    return {"plan_id": plan_id, "product_id": product, "plan_type": "open", "commission_rate": 0.2}


def test_a_deleted_store_turns_writes_and_readiness_red(client, env) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    merchant, admin = key(w, "merchant"), key(w, "admin")
    assert client.get("/readyz").status_code == 200
    before = client.post("/v1/plans", json=_plan(w.product, "fault-before"), headers=merchant)
    assert before.status_code == 201, before.text

    db = env.root / "data" / "recsys.db"
    assert db.exists()
    db.unlink()  # the operator's mistake: the file goes, the service's connections still hold the old inode

    acknowledged = []
    for i in range(3):
        res = client.post("/v1/plans", json=_plan(w.product, f"fault-after-{i}"), headers=merchant)
        assert res.status_code == 503, res.text
        assert res.json()["error"]["code"] == "store_unavailable"
        acknowledged += [res] if res.is_success else []
        events = {"events": [{"event_id": f"fault-e{i}", "kind": "order", "data": {"order_id": f"fault-o{i}"}}]}
        res = client.post("/v1/events", json=events, headers=admin)
        assert res.status_code == 503, res.text
        acknowledged += [res] if res.is_success else []
    patched = client.patch("/v1/plans/fault-before", json={"commission_rate": 0.3}, headers=merchant)
    assert patched.status_code == 503
    assert not acknowledged  # nothing is acknowledged once the store is not the one the service opened

    read = client.get("/v1/plans/fault-before", headers=merchant)
    assert read.status_code in (200, 503), read.text  # a read may still see the old file; never a 500

    ready = client.get("/readyz")
    assert ready.status_code == 503
    message = ready.json()["error"]["message"]
    assert ready.json()["error"]["code"] == "store_unavailable"
    assert "recsys.db" in message and ("deleted" in message or "replaced" in message)
    assert len(message) < 200 and "\n" not in message and message.count(". ") == 0

    # new connections now open a fresh, empty file at the same path ("no such table"): still 503, never 500
    client.app.state.service.store.engine.dispose()
    read = client.get("/v1/plans/fault-before", headers=merchant)
    assert read.status_code == 503 and read.json()["error"]["code"] == "store_unavailable", read.text
    res = client.post("/v1/plans", json=_plan(w.product, "fault-late"), headers=merchant)
    assert res.status_code == 503, res.text
    assert client.get("/readyz").status_code == 503


def test_readiness_reasons_are_one_short_sentence() -> None:
    """A bundle that does not match the store says so, not the array pandas quotes."""
    import numpy as np

    from models.bundle import BundleError
    from serving.runtime import unready_reason

    dump = ValueError(f"Invalid value '{np.ones(3000)}' for dtype 'float64'")
    reason = unready_reason(dump)
    assert reason.startswith("the bundle does not match the store's data") and len(reason) < 120
    long = unready_reason(BundleError("file models/gmv.txt changed\n" + "x" * 5000))
    assert long == "file models/gmv.txt changed"
