"""Withdrawal requests through HTTP, shared by the withdrawal and task-fee tests."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.serving.conftest import key


def withdraw(client, env, idempotency_key: str | None, who: str = "creator"):  # type: ignore[no-untyped-def]
    """``POST /v1/creators/{creator}/withdrawals`` as ``who``, with the idempotency key when one is given."""
    headers = key(env.world, who) | ({"Idempotency-Key": idempotency_key} if idempotency_key else {})
    return client.post(f"/v1/creators/{env.world.creator}/withdrawals", headers=headers)


def withdraw_at_once(client, env, keys: list[str]) -> list[Any]:  # type: ignore[no-untyped-def]
    """One withdrawal per idempotency key, all released together by a barrier (a concurrency race)."""
    start = threading.Barrier(len(keys))

    def one(k: str):  # type: ignore[no-untyped-def]
        start.wait()
        return withdraw(client, env, k)

    with ThreadPoolExecutor(len(keys)) as pool:
        return list(pool.map(one, keys))
