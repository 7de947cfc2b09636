"""Two API replicas — separate ``recsys serve`` processes — on one PostgreSQL store (docs/operations.md).

A plan edit and an onboarded product written through one replica reach the other within its refresh interval,
with no shared memory between them: only the store.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.serving.conftest import key
from tests.serving.live_server import recsys_serve, serve_environment

pytestmark = pytest.mark.backends("postgresql")

REFRESH_S = 0.5
WITHIN_S = 30.0  # a bound for a stuck replica, not a speed target


@contextlib.contextmanager
def _replica(settings: Any, log: Path) -> Iterator[str]:
    with recsys_serve(serve_environment(settings, REFRESH_S), log) as (base, _):
        yield base


def _eventually(check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WITHIN_S
    while not check():
        assert time.monotonic() < deadline, "the other replica did not see the change in time"
        time.sleep(0.1)


def test_two_replicas_on_one_postgresql_store_see_each_others_writes(env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    with _replica(env.settings, tmp_path / "a.log") as a, _replica(env.settings, tmp_path / "b.log") as b:
        admin, merchant = key(w, "admin"), key(w, "merchant")

        def pool(base: str) -> dict[str, Any]:
            res = httpx.get(f"{base}/v1/creators/{w.creator}/products", params={"k": 50}, headers=admin, timeout=30)
            assert res.status_code == 200, res.text
            return {i["product_id"]: i for i in res.json()["items"]}

        # a plan edit through A: an exclusive plan at 50% for one creator, seen in that creator's pool on B
        plan = {
            "plan_id": "replica-excl",
            "product_id": w.product,
            "plan_type": "exclusive",
            "commission_rate": 0.5,
            "creator_ids": [w.creator],
            "starts_at": "2020-01-01T00:00:00Z",
        }
        res = httpx.post(f"{a}/v1/plans", json=plan, headers=merchant, timeout=30)
        assert res.status_code == 201, res.text
        _eventually(lambda: pool(b).get(w.product, {}).get("plan_id") == "replica-excl")
        assert pool(b)[w.product]["commission_rate"] == 0.5

        # a product onboarded through B: recommended for its products' creators on A, without training
        row = httpx.get(f"{b}/v1/products/{w.product}/creators", params={"k": 1}, headers=merchant, timeout=30)
        assert row.status_code == 200, row.text
        assert httpx.get(f"{a}/v1/products/p-replica-1/creators", headers=merchant, timeout=30).status_code == 404
        body = _product_body(env, w.product)
        res = httpx.put(f"{b}/v1/products/p-replica-1", json=body, headers=merchant, timeout=30)
        assert res.status_code == 201, res.text
        _eventually(
            lambda: httpx.get(f"{a}/v1/products/p-replica-1/creators", headers=merchant, timeout=30).status_code == 200
        )


def _product_body(env, product_id: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    from recsys.core.store import Store
    from serving.entity_store import read_entity

    store = Store(env.settings.resolved_database_url)
    try:
        record = read_entity(store, "products", product_id)
    finally:
        store.dispose()
    assert record is not None
    body = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in record.items()}
    body.pop("product_id")
    return {**body, "title": "replica twin"}
