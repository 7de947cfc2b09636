"""``recsys serve --workers 2`` forks its workers from a master that loaded the service once (serving/prefork.py):
they share its memory, answer like one worker, and a worker forked later (one that died and was replaced) first
catches up with what was written since the master's load."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Collection
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from tests.serving.conftest import key
from tests.serving.live_server import recsys_serve, serve_environment

pytestmark = pytest.mark.backends("sqlite", "postgresql")

WITHIN_S = 60.0  # a bound for a stuck worker, not a speed target


def _workers(master: int, n: int, other_than: Collection[int] = ()) -> set[int]:
    """The master's ``n`` worker processes (none of ``other_than``), waiting for them (bounded)."""
    deadline = time.monotonic() + WITHIN_S
    while True:
        pids = {c.pid for c in psutil.Process(master).children()} - set(other_than)
        if len(pids) == n:
            return pids
        assert time.monotonic() < deadline, f"expected {n} workers, found {sorted(pids)}"
        time.sleep(0.1)


def _rollup(pid: int) -> dict[str, int]:
    """``/proc/<pid>/smaps_rollup`` in kB."""
    out = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value = line.split(":", 1)
        out[name] = int(value.split()[0])
    return out


def test_two_workers_forked_from_one_load_share_its_memory_and_answer_alike(env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    with recsys_serve(serve_environment(env.settings, 0.5), tmp_path / "serve.log", workers=2) as (base, proc):
        workers = _workers(proc.pid, 2)
        assert all(psutil.Process(pid).ppid() == proc.pid for pid in workers)
        pools = set()
        for _ in range(20):  # new connections: the kernel hands them to either worker
            res = httpx.get(f"{base}/v1/creators/{w.creator}/products", params={"k": 20}, headers=key(w, "admin"))
            assert res.status_code == 200, res.text
            pools.add(tuple(i["product_id"] for i in res.json()["items"]))
        assert len(pools) == 1
        for pid in workers:
            # the loaded state, the imported libraries and the store's market were written by the master before the
            # fork: pages both workers still share; a worker that loaded them itself would hold them privately
            mem = _rollup(pid)
            assert mem["Shared_Dirty"] > 0.5 * mem["Anonymous"], mem
    log = (tmp_path / "serve.log").read_text()
    assert "forking the workers" in log, log[-3000:]


def test_workers_forked_after_an_edit_serve_it_at_once(env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """With store checks only hourly, a plan written through one worker reaches workers forked later (both killed and
    replaced) only by their catch-up before serving: the master still holds the state loaded before the edit."""
    w = env.world
    environment = serve_environment(env.settings, 3600.0)
    with recsys_serve(environment, tmp_path / "serve.log", workers=2) as (base, proc):
        first = _workers(proc.pid, 2)
        plan = {
            "plan_id": "prefork-excl",
            "product_id": w.product,
            "plan_type": "exclusive",
            "commission_rate": 0.5,
            "creator_ids": [w.creator],
            "starts_at": "2020-01-01T00:00:00Z",
        }
        res = httpx.post(f"{base}/v1/plans", json=plan, headers=key(w, "merchant"))
        assert res.status_code == 201, res.text
        for pid in first:
            os.kill(pid, signal.SIGKILL)
        _workers(proc.pid, 2, other_than=first)
        deadline = time.monotonic() + WITHIN_S
        while httpx.get(f"{base}/readyz").status_code != 200:
            assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()[-3000:]
            time.sleep(0.1)
        for _ in range(20):
            res = httpx.get(f"{base}/v1/creators/{w.creator}/products", params={"k": 50}, headers=key(w, "admin"))
            assert res.status_code == 200, res.text
            item = {i["product_id"]: i for i in res.json()["items"]}.get(w.product, {})
            assert item.get("plan_id") == "prefork-excl", item


def _open(env) -> Any:  # type: ignore[no-untyped-def]
    from serving.app import open_service
    from serving.telemetry import ServiceMetrics

    return open_service(env.settings, ServiceMetrics())


def test_after_fork_keeps_the_loaded_state_when_nothing_changed(env) -> None:  # type: ignore[no-untyped-def]
    service = _open(env)
    try:
        loaded = service.current
        assert loaded is not None
        service.after_fork()
        assert service.current is loaded
    finally:
        service.stop()
        service.store.dispose()


def test_after_fork_loads_the_live_bundle_after_a_reload_elsewhere(env) -> None:  # type: ignore[no-untyped-def]
    from serving.runtime import bump_reload_counter

    service = _open(env)
    try:
        loaded = service.current
        bump_reload_counter(service.store)  # another worker reloaded since this service was loaded
        service.after_fork()
        assert service.current is not loaded
        assert service.current.run_id == loaded.run_id
        assert service.guard.problem is None
    finally:
        service.stop()
        service.store.dispose()


def test_a_reload_reforks_the_workers_from_a_master_that_loaded_it(env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The worker that reloads asks the master to load the bundle too; fresh workers forked from it replace the old."""
    w = env.world
    log = tmp_path / "serve.log"
    with recsys_serve(serve_environment(env.settings, 0.5), log, workers=2) as (base, proc):
        first = _workers(proc.pid, 2)
        res = httpx.post(f"{base}/v1/admin/reload", params={"force": "true"}, headers=key(w, "admin"), timeout=60)
        assert res.status_code == 200, res.text
        assert res.json()["reloaded"] is True
        deadline = time.monotonic() + WITHIN_S
        while {c.pid for c in psutil.Process(proc.pid).children()} & first:  # the old workers stop
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.2)
        _workers(proc.pid, 2, other_than=first)
        for _ in range(10):
            res = httpx.get(f"{base}/v1/creators/{w.creator}/products", params={"k": 20}, headers=key(w, "admin"))
            assert res.status_code == 200, res.text
    assert log.read_text().count("forking the workers from it") == 2, log.read_text()[-3000:]
