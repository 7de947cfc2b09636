"""A reload keeps nothing of what it replaced (issue 19): the previous state, matcher and engine are collected, the
replaced bundle's snapshot is no longer mapped, a worker's state is assembled once at start or reload even with
entities written after training, and the allocators are tuned so freed memory goes back to the OS.
(How much memory a reload keeps, measured: ``python -m bench.reload_memory``.)"""

from __future__ import annotations

import gc
import json
import shutil
import time
import weakref
from pathlib import Path
from typing import Any

import pytest

from tests.serving.conftest import key


def _pool(client, env, creator: str | None = None) -> list[str]:  # type: ignore[no-untyped-def]
    w = env.world
    res = client.get(f"/v1/creators/{creator or w.creator}/products", params={"k": 20}, headers=key(w, "admin"))
    assert res.status_code == 200, res.text
    return [item["product_id"] for item in res.json()["items"]]


def _reload(client, env, run_id: str | None = None):  # type: ignore[no-untyped-def]
    from models.bundle import set_current

    if run_id is not None:
        set_current(env.settings.artifacts_dir, run_id)
    params = {} if run_id is not None else {"force": "true"}  # the served bundle again: a new state only if forced
    res = client.post("/v1/admin/reload", params=params, headers=key(env.world, "admin"))
    assert res.status_code == 200, res.text
    return res


def _twin(env, run_id: str) -> str:  # type: ignore[no-untyped-def]
    """A copy of the current bundle under another run id (the manifest is not part of the checksums)."""
    from models.bundle import current_bundle_dir

    source = current_bundle_dir(env.settings.artifacts_dir)
    target = env.settings.artifacts_dir / run_id
    if not target.exists():
        shutil.copytree(source, target, copy_function=shutil.copyfile)
        manifest = json.loads((target / "manifest.json").read_text())
        manifest["run_id"] = run_id
        (target / "manifest.json").write_text(json.dumps(manifest))
    compiled = env.settings.artifacts_dir / ".compiled"  # the models compiled for this CPU: not compiled again
    if (compiled / source.name).is_dir() and not (compiled / run_id).exists():
        shutil.copytree(compiled / source.name, compiled / run_id)
    return run_id


def test_a_reload_leaves_the_previous_state_to_the_collector(client, app, env) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    _pool(client, env)  # fill the state's per-request caches first: they must go with it
    assert client.get(f"/v1/products/{w.product}/creators", headers=key(w, "admin")).status_code == 200
    state = app.state.service.current
    previous = [weakref.ref(state), weakref.ref(state.matcher), weakref.ref(state.bundle.engine)]
    del state
    _reload(client, env)
    assert app.state.service.current is not previous[0]()
    assert _pool(client, env)
    gc.collect()
    alive = [type(ref()).__name__ for ref in previous if ref() is not None]
    assert alive == [], f"still referenced after the reload: {alive}"


def test_a_state_a_request_held_during_the_swap_is_collected_once_it_is_let_go(client, app, env) -> None:  # type: ignore[no-untyped-def]
    state = app.state.service.current  # as a request in flight holds it while the reload swaps
    state.cache["cycle"] = state  # a reference cycle: only the cyclic collector can free it, and not once frozen
    previous = weakref.ref(state.matcher)
    _reload(client, env)
    del state  # the request ends after the swap's own collection
    deadline = time.monotonic() + 30  # the collection is repeated a couple of seconds after the swap
    while previous() is not None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert previous() is None, "the previous state stayed frozen after the request that held it ended"


def _mapped_snapshots(artifacts: Path) -> set[Path]:
    """The folders of the bundle snapshots under ``artifacts`` this process has files of mapped."""
    root = str(artifacts.resolve() / ".serving") + "/"
    folders = set()
    with open("/proc/self/maps") as maps:
        for line in maps:
            path = line.split(maxsplit=5)[-1].strip()
            if path.startswith(root):
                folders.add(Path(root + path[len(root) :].split("/", 1)[0]))
    return folders


def test_a_swap_to_another_bundle_unmaps_the_one_it_replaced(client, app, env) -> None:  # type: ignore[no-untyped-def]
    from models.bundle import current_bundle_dir

    original = current_bundle_dir(env.settings.artifacts_dir).name
    for run_id in (_twin(env, "memory-twin"), original):
        _reload(client, env, run_id)
        assert _pool(client, env)
        gc.collect()
        served = app.state.service.current.bundle.path
        assert served.name.startswith(run_id)
        assert _mapped_snapshots(env.settings.artifacts_dir) == {served.resolve()}


def test_a_state_with_entities_written_after_training_is_assembled_once(
    client, app, env, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    import serving.live_entities as live
    from recsys.core.store import Store
    from serving.entity_store import read_entity

    w = env.world
    record = read_entity(Store.from_settings(env.settings), "creators", w.creator)
    assert record is not None
    body = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in record.items() if k != "creator_id"}
    body |= {"name": "a creator written after training", "joined_at": "2026-11-29T00:00:00"}
    res = client.put("/v1/creators/c-after-training", json=body, headers=key(w, "admin"))
    assert res.status_code == 201, res.text
    deadline = time.monotonic() + 30  # the write's own refresh (in the background) assembles a state too: wait for it
    while "c-after-training" not in app.state.service.current.bundle.engine.tables.creators.index:
        assert time.monotonic() < deadline, "the written creator never reached the served state"
        time.sleep(0.1)
    calls: list[Any] = []
    assembled = live.open_matcher_state

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return assembled(*args, **kwargs)

    monkeypatch.setattr(live, "open_matcher_state", counted)
    _reload(client, env)
    assert len(calls) == 1  # read and assembled once, the new creator included (it was twice)
    assert "c-after-training" in calls[0][2].engine.tables.creators.index
    assert _pool(client, env, "c-after-training")


def test_the_allocators_are_tuned_unless_the_environment_says_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    import pyarrow as pa

    from recsys.core.allocator import tune_allocator

    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    monkeypatch.setenv("ARROW_DEFAULT_MEMORY_POOL", "mimalloc")
    done = tune_allocator()
    assert not any(item.startswith(("MALLOC_ARENA_MAX", "ARROW")) for item in done)
    assert "MALLOC_MMAP_THRESHOLD_=262144" in done
    monkeypatch.delenv("ARROW_DEFAULT_MEMORY_POOL")
    tune_allocator()
    assert pa.default_memory_pool().backend_name == "system"
