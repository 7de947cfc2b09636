"""Bundles the service serves cannot be changed under it (issue 19, item 3): read-only artifacts, a private verified
snapshot per load, damage of the artifacts never reaching a worker, a damaged served bundle turning /readyz red with
a log line, and snapshots removed once no longer served."""

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
    return sorted(root.iterdir()) if root.is_dir() else []


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
        assert snapshot.name.startswith(f"{os.getpid()}-") and snapshot.name.endswith(bundle_dir.name)
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
