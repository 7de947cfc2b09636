"""Bundles the service serves cannot be changed under it (issue 19, item 3): read-only artifacts, one verified
snapshot per bundle shared by every load, damage of the artifacts never reaching a worker, a damaged served bundle
turning /readyz red with a log line, and snapshots removed once no longer served."""

from __future__ import annotations

import logging
import os
import stat
import time
from pathlib import Path

import pytest

from tests.serving.conftest import TestClient, copy_env, key


@pytest.fixture()
def fresh_env(golden, tmp_path):  # type: ignore[no-untyped-def]
    return copy_env(golden, tmp_path / "env")


def _snapshots(env) -> list[Path]:  # type: ignore[no-untyped-def]
    root = env.settings.artifacts_dir / ".serving"
    return sorted(p for p in root.iterdir() if not p.name.startswith(".")) if root.is_dir() else []


def _largest_array(folder: Path) -> Path:
    return max(folder.rglob("*.npy"), key=lambda p: p.stat().st_size)


def _pool(client, env) -> int:  # type: ignore[no-untyped-def]
    w = env.world
    res = client.get(f"/v1/creators/{w.creator}/products", params={"k": 10}, headers=key(w, "creator"))
    return int(res.status_code)


def _wait_for_status(client, path: str, status: int, timeout_s: float = 20.0) -> int:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while True:
        got = int(client.get(path).status_code)
        if got == status or time.monotonic() > deadline:
            return got
        time.sleep(0.1)


def test_saved_artifacts_are_read_only(fixture_bundle, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from models.bundle import load_bundle, save_bundle

    engine = load_bundle(fixture_bundle.path).engine
    folder = save_bundle(engine, tmp_path / "artifacts", fixture_bundle.market, 5, {}, compile_models=False)
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert files and all(stat.S_IMODE(p.stat().st_mode) == 0o444 for p in files)
    assert load_bundle(folder).run_id == folder.name  # still loads


def test_a_damaged_artifact_never_reaches_the_served_bundle(fresh_env, caplog) -> None:  # type: ignore[no-untyped-def]
    from models.bundle import current_bundle_dir
    from serving.app import create_app

    env = fresh_env
    bundle_dir = current_bundle_dir(env.settings.artifacts_dir)
    with TestClient(create_app(env.settings)) as client:
        [snapshot] = _snapshots(env)
        assert snapshot.name.startswith(f"{bundle_dir.name}.") and snapshot.name.endswith(".1")
        assert _pool(client, env) == 200
        # truncate the largest memory-mapped array of the artifacts (what used to SIGBUS the worker)
        victim = _largest_array(bundle_dir)
        victim.chmod(0o644)
        with victim.open("r+b") as handle:
            handle.truncate(128)
        for _ in range(3):
            assert _pool(client, env) == 200  # served from the snapshot
        assert client.get("/readyz").status_code == 200  # the served copy is intact
        with caplog.at_level(logging.ERROR, logger="recsys.serving"):
            res = client.post("/v1/admin/reload", headers=key(env.world, "admin"))
        assert res.status_code == 409, res.text
        assert victim.name in res.json()["error"]["message"]
        assert any("reload refused" in r.getMessage() and victim.name in r.getMessage() for r in caplog.records)
        assert _snapshots(env) == [snapshot]  # the refused copy left nothing behind
        assert _pool(client, env) == 200 and client.get("/readyz").status_code == 200
    assert _snapshots(env) == []  # removed at shutdown


def test_a_damaged_served_snapshot_turns_readyz_red_until_a_reload(fresh_env, caplog) -> None:  # type: ignore[no-untyped-def]
    from serving.app import create_app

    env = fresh_env
    with TestClient(create_app(env.settings)) as client:
        [snapshot] = _snapshots(env)
        victim = _largest_array(snapshot)
        victim.chmod(0o644)
        with victim.open("ab") as handle:  # grow it (shrinking a mapped file would SIGBUS this test process)
            handle.write(b"\0" * 16)
        with caplog.at_level(logging.ERROR, logger="recsys.serving"):
            assert _wait_for_status(client, "/readyz", 503) == 503
        body = client.get("/readyz").json()["error"]
        assert body["code"] == "bundle_fault" and victim.name in body["message"]
        assert any("served snapshot" in r.getMessage() for r in caplog.records)
        assert _pool(client, env) == 200  # still serving meanwhile
        res = client.post("/v1/admin/reload", headers=key(env.world, "admin"))
        assert res.status_code == 200, res.text
        assert client.get("/readyz").status_code == 200
        assert snapshot not in _snapshots(env) and len(_snapshots(env)) == 1  # the old copy went with the swap


def test_a_live_bundle_refused_by_a_follower_is_reported_and_the_old_one_serves(fresh_env, caplog) -> None:  # type: ignore[no-untyped-def]
    from models.bundle import current_bundle_dir
    from serving.app import create_app

    env = fresh_env
    with TestClient(create_app(env.settings)) as client:
        service = client.app.state.service  # type: ignore[attr-defined]
        victim = _largest_array(current_bundle_dir(env.settings.artifacts_dir))
        victim.chmod(0o644)
        with victim.open("r+b") as handle:
            handle.truncate(64)
        with caplog.at_level(logging.ERROR, logger="recsys.serving"):
            service._following = True
            service._follow_reload(service._reload_counter)  # as when another worker reloaded
        assert any("could not follow a reload" in r.getMessage() for r in caplog.records)
        res = client.get("/readyz")
        assert res.status_code == 503 and res.json()["error"]["code"] == "bundle_fault", res.text
        assert _pool(client, env) == 200
        assert len(_snapshots(env)) == 1


def test_snapshots_of_dead_workers_are_swept_at_start(fresh_env) -> None:  # type: ignore[no-untyped-def]
    from serving.app import create_app

    env = fresh_env
    stale = env.settings.artifacts_dir / ".serving" / "999999999-1-old-run"
    stale.mkdir(parents=True)
    (stale / "manifest.json").write_text("{}")
    with TestClient(create_app(env.settings)) as client:
        assert client.get("/readyz").status_code == 200
        assert not stale.exists()


def _twin(env) -> str:  # type: ignore[no-untyped-def]
    """A copy of the current bundle under another run id (another manifest: another snapshot), made current."""
    import shutil

    from models.bundle import current_bundle_dir, set_current

    source = current_bundle_dir(env.settings.artifacts_dir)
    twin = f"{source.name}-twin"
    shutil.copytree(source, env.settings.artifacts_dir / twin)
    manifest = env.settings.artifacts_dir / twin / "manifest.json"
    manifest.chmod(0o644)
    manifest.write_text(manifest.read_text().replace(f'"run_id": "{source.name}"', f'"run_id": "{twin}"', 1))
    compiled = env.settings.artifacts_dir / ".compiled"
    if (compiled / source.name).is_dir():  # the models compiled for this CPU: the twin's are the same
        shutil.copytree(compiled / source.name, compiled / twin)
    set_current(env.settings.artifacts_dir, twin)
    return twin


def test_loads_of_one_bundle_share_one_snapshot_released_by_its_last_holder(fresh_env) -> None:  # type: ignore[no-untyped-def]
    from models.bundle import current_bundle_dir, load_bundle
    from models.bundle_snapshot import held_snapshots, remove_snapshot

    artifacts = fresh_env.settings.artifacts_dir
    first = load_bundle(current_bundle_dir(artifacts), mmap=True, snapshot_into=artifacts)
    second = load_bundle(current_bundle_dir(artifacts), mmap=True, snapshot_into=artifacts)
    assert first.path == second.path and _snapshots(fresh_env) == [first.path]  # copied once, mapped twice
    assert held_snapshots()[first.path] == 2
    remove_snapshot(first.path)
    assert first.path.is_dir()  # the second load still serves it
    remove_snapshot(second.path)
    assert _snapshots(fresh_env) == [] and first.path not in held_snapshots()


def test_two_workers_share_a_snapshot_and_a_reload_removes_the_old_one(fresh_env) -> None:  # type: ignore[no-untyped-def]
    from serving.app import create_app

    env = fresh_env
    with TestClient(create_app(env.settings)) as one, TestClient(create_app(env.settings)) as two:
        [shared] = _snapshots(env)  # two workers (two services), one copy
        assert _pool(one, env) == 200 and _pool(two, env) == 200
        twin = _twin(env)
        assert one.post("/v1/admin/reload", headers=key(env.world, "admin")).status_code == 200
        [old, new] = sorted(_snapshots(env), key=lambda p: p.name.startswith(twin))
        assert old == shared and new.name.startswith(f"{twin}.")  # the old one is still served by the other worker
        service = two.app.state.service  # type: ignore[attr-defined]
        service._following = True
        service._follow_reload(service._reload_counter + 1)  # as its background check does
        assert _snapshots(env) == [new]  # its last holder let it go
        assert _pool(one, env) == 200 and _pool(two, env) == 200
        assert one.get("/readyz").status_code == 200 and two.get("/readyz").status_code == 200
    assert _snapshots(env) == [new]  # the current bundle's copy is kept for the next start (serving.keep_snapshot)


def _orphan(env) -> Path:  # type: ignore[no-untyped-def]
    """A snapshot of the current bundle whose process was killed: the kernel dropped its hold with the descriptor."""
    from models.bundle import current_bundle_dir, load_bundle
    from models.bundle_snapshot import HOLD, _holds, _holds_lock

    artifacts = env.settings.artifacts_dir
    orphan = load_bundle(current_bundle_dir(artifacts), snapshot_into=artifacts).path
    with _holds_lock:
        for fd in _holds.pop(orphan):
            os.close(fd)
    assert (orphan / HOLD).exists()
    return orphan


def _without_keeping(env):  # type: ignore[no-untyped-def]
    serving = env.settings.serving.model_copy(update={"keep_snapshot": False})
    return env.settings.model_copy(update={"serving": serving})


def test_unheld_snapshots_are_swept_at_start(fresh_env) -> None:  # type: ignore[no-untyped-def]
    from serving.app import create_app

    orphan = _orphan(fresh_env)
    recorded = (orphan / ".verified.json").stat().st_mtime_ns
    with TestClient(create_app(_without_keeping(fresh_env))) as client:
        assert client.get("/readyz").status_code == 200
        [served] = _snapshots(fresh_env)
        assert (served / ".verified.json").stat().st_mtime_ns != recorded  # the orphan went, a fresh copy was made
    assert _snapshots(fresh_env) == []


def test_the_current_bundles_copy_is_kept_for_the_next_start_and_swept_once_another_is_current(fresh_env) -> None:  # type: ignore[no-untyped-def]
    from serving.app import create_app

    env = fresh_env
    orphan = _orphan(env)
    recorded = (orphan / ".verified.json").stat().st_mtime_ns
    with TestClient(create_app(env.settings)) as client:
        assert client.get("/readyz").status_code == 200 and _pool(client, env) == 200
        assert _snapshots(env) == [orphan]  # reused as it is: not copied again
    assert _snapshots(env) == [orphan] and (orphan / ".verified.json").stat().st_mtime_ns == recorded
    with TestClient(create_app(env.settings)) as client:  # a restart maps the kept copy
        assert _snapshots(env) == [orphan] and _pool(client, env) == 200
    twin = _twin(env)
    with TestClient(create_app(env.settings)) as client:
        [served] = _snapshots(env)
        assert served.name.startswith(f"{twin}.") and not orphan.exists()  # no longer current: swept
        assert _pool(client, env) == 200
    assert _snapshots(env) == [served]


def test_a_kept_copy_changed_while_no_worker_ran_is_not_served(fresh_env) -> None:  # type: ignore[no-untyped-def]
    from models.bundle import current_bundle_dir
    from serving.app import create_app

    env = fresh_env
    orphan = _orphan(env)
    victim = _largest_array(orphan)
    rel = victim.relative_to(orphan)
    whole = (current_bundle_dir(env.settings.artifacts_dir) / rel).stat().st_size
    os.chmod(victim, 0o644)
    with victim.open("r+b") as handle:  # truncated while no worker held it
        handle.truncate(whole // 2)
    with TestClient(create_app(env.settings)) as client:
        assert client.get("/readyz").status_code == 200 and _pool(client, env) == 200
        [served] = _snapshots(env)  # the damaged copy was swept and a fresh one made (same name: generation 1)
        assert (served / rel).stat().st_size == whole
