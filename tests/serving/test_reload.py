"""Reload: atomic swap under concurrent requests, broken bundles refused, stale cursors, no-bundle start,
other workers following, and the Prometheus metrics. (How fast other workers follow: `python -m bench.refresh`.)"""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.serving.conftest import TestClient, copy_env, key


def _copy_bundle(env, run_id: str) -> Path:  # type: ignore[no-untyped-def]
    """A copy of the current bundle under a new run id (the manifest is not part of the checksums)."""
    from models.bundle import current_bundle_dir

    source = current_bundle_dir(env.settings.artifacts_dir)
    target = env.settings.artifacts_dir / run_id
    if not target.exists():
        shutil.copytree(source, target, copy_function=shutil.copyfile)  # writable: saved bundles are read-only
        manifest = json.loads((target / "manifest.json").read_text())
        manifest["run_id"] = run_id
        (target / "manifest.json").write_text(json.dumps(manifest))
    return target


@pytest.fixture(scope="module")
def bundles(env) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    from models.bundle import current_bundle_dir

    original = current_bundle_dir(env.settings.artifacts_dir).name
    return original, _copy_bundle(env, "second-bundle").name


def _reload_to(client, env, run_id: str):  # type: ignore[no-untyped-def]
    from models.bundle import set_current

    set_current(env.settings.artifacts_dir, run_id)
    return client.post("/v1/admin/reload", headers=key(env.world, "admin"))


class _Load:
    """Threads that keep asking for a pool and a score until stopped, recording every status and model run id."""

    def __init__(self, client, env, threads: int = 4) -> None:  # type: ignore[no-untyped-def]
        self.client, self.world = client, env.world
        self.statuses: Counter[int] = Counter()
        self.errors: list[str] = []  # exceptions raised in the app (the test client re-raises them; a server: 500)
        self.run_ids: list[str] = []
        self.changed = threading.Condition()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._ask, args=(i,)) for i in range(threads)]

    def _ask(self, i: int) -> None:
        w = self.world
        while not self.stop.is_set():
            try:
                if i % 2:
                    res = self.client.get(
                        f"/v1/creators/{w.creator}/products", params={"k": 10}, headers=key(w, "creator")
                    )
                else:
                    res = self.client.post(
                        "/v1/score",
                        json={"pairs": [{"creator_id": w.creator, "product_id": w.product}]},
                        headers=key(w, "creator"),
                    )
            except Exception as exc:  # recorded and asserted on, not swallowed
                with self.changed:
                    self.errors.append(repr(exc))
                    self.changed.notify_all()
                continue
            with self.changed:
                self.statuses[res.status_code] += 1
                if res.status_code == 200:
                    self.run_ids.append(res.json()["model_run_id"])
                self.changed.notify_all()

    def wait_for(self, run_id: str, after: int, timeout_s: float = 60.0) -> bool:
        """Whether an answer from bundle ``run_id`` arrives after the first ``after`` answers (bounded wait)."""
        with self.changed:
            return self.changed.wait_for(lambda: run_id in self.run_ids[after:], timeout=timeout_s)

    def answered(self) -> int:
        with self.changed:
            return len(self.run_ids)

    def __enter__(self) -> _Load:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=60)


def test_reload_under_concurrent_requests_fails_nothing(client, env, bundles) -> None:  # type: ignore[no-untyped-def]
    reloads = []
    with _Load(client, env) as load:
        assert load.wait_for(bundles[0], after=0), "no request was answered before the reloads"
        for target in (bundles[1], bundles[0], bundles[1], bundles[0]):
            before = load.answered()
            reloads.append(_reload_to(client, env, target))
            # requests keep flowing through the swap and are answered by the new bundle
            assert load.wait_for(target, after=before), f"no request was answered by {target} after the reload"
    assert [r.status_code for r in reloads] == [200] * 4
    assert [r.json()["model_run_id"] for r in reloads] == [bundles[1], bundles[0], bundles[1], bundles[0]]
    assert set(load.statuses) == {200}, load.statuses  # not one request failed across four reloads
    assert not load.errors, load.errors[:3]  # nor raised: e.g. a row read from the old bundle's removed copy
    assert set(load.run_ids) == set(bundles)


def test_a_broken_bundle_is_refused_and_the_old_one_keeps_serving(client, env, bundles) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    broken = _copy_bundle(env, "broken-bundle")
    with (broken / "models" / "gmv.txt").open("a") as fh:
        fh.write("\ntampered\n")
    try:
        res = _reload_to(client, env, broken.name)
        assert res.status_code == 409
        error = res.json()["error"]
        assert error["code"] == "bundle_refused" and "sha256 differs from the manifest" in error["message"]
        pool = client.get(f"/v1/creators/{w.creator}/products", params={"k": 3}, headers=key(w, "creator"))
        assert pool.status_code == 200 and pool.json()["model_run_id"] == bundles[0]
        assert client.get("/readyz").json()["model_run_id"] == bundles[0]
    finally:
        from models.bundle import set_current

        set_current(env.settings.artifacts_dir, bundles[0])


def test_a_cursor_from_another_bundle_is_refused(client, env, bundles) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    page = client.get(f"/v1/creators/{w.creator}/products", params={"k": 3}, headers=key(w, "creator")).json()
    assert _reload_to(client, env, bundles[1]).status_code == 200
    try:
        res = client.get(
            f"/v1/creators/{w.creator}/products",
            params={"k": 3, "cursor": page["next_cursor"]},
            headers=key(w, "creator"),
        )
        assert res.status_code == 400 and res.json()["error"]["code"] == "cursor_stale"
        assert "refreshed" in res.json()["error"]["message"]
    finally:
        assert _reload_to(client, env, bundles[0]).status_code == 200


def test_other_workers_follow_a_reload(client, env, bundles) -> None:  # type: ignore[no-untyped-def]
    from serving.app import create_app

    with TestClient(create_app(env.settings)) as second:
        assert second.get("/readyz").json()["model_run_id"] == bundles[0]
        assert _reload_to(client, env, bundles[1]).status_code == 200
        try:
            deadline = time.monotonic() + 60  # a bound for a hung worker, not a speed target
            while second.get("/readyz").json()["model_run_id"] != bundles[1] and time.monotonic() < deadline:
                time.sleep(0.1)
            assert second.get("/readyz").json()["model_run_id"] == bundles[1]
        finally:
            assert _reload_to(client, env, bundles[0]).status_code == 200


def test_metrics_expose_route_histograms_and_model_info(client, env, bundles) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    client.get(f"/v1/creators/{w.creator}/products", params={"k": 3}, headers=key(w, "creator"))
    text = client.get("/metrics").text
    route = 'route="/v1/creators/{creator_id}/products"'
    assert f'recsys_http_request_duration_seconds_bucket{{le="+Inf",method="GET",{route}}}' in text
    assert f'recsys_http_request_duration_seconds_count{{method="GET",{route}}}' in text
    assert f'recsys_http_requests_total{{method="GET",{route},status="200"}}' in text
    assert w.creator not in text  # ids never become label values
    assert "recsys_model_info{created_at=" in text and f'run_id="{bundles[0]}"' in text
    assert 'recsys_index_rows{index="products"} 1200.0' in text
    assert 'recsys_feature_table_size{dimension="rows",table="creator"} 300.0' in text
    assert 'recsys_bundle_reloads_total{outcome="ok"}' in text


def test_without_a_bundle_the_service_starts_and_says_why(golden, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from models.bundle import set_current
    from serving.app import create_app

    env = copy_env(golden, tmp_path)
    saved = tmp_path / "saved"
    shutil.move(env.settings.artifacts_dir, saved)
    w = env.world
    with TestClient(create_app(env.settings)) as client:
        assert client.get("/healthz").status_code == 200
        ready = client.get("/readyz")
        assert ready.status_code == 503 and "recsys train" in ready.json()["error"]["message"]
        pool = client.get(f"/v1/creators/{w.creator}/products", headers=key(w, "creator"))
        assert pool.status_code == 503 and pool.json()["error"]["code"] == "model_not_loaded"
        assert client.get(f"/v1/merchants/{w.merchant}/plans", headers=key(w, "merchant")).status_code == 200
        shutil.move(saved, env.settings.artifacts_dir)
        set_current(env.settings.artifacts_dir, golden_run_id(env))
        assert client.post("/v1/admin/reload", headers=key(w, "admin")).status_code == 200
        assert client.get("/readyz").status_code == 200
        assert client.get(f"/v1/creators/{w.creator}/products", headers=key(w, "creator")).status_code == 200


def golden_run_id(env) -> str:  # type: ignore[no-untyped-def]
    return next(p.name for p in env.settings.artifacts_dir.iterdir() if (p / "manifest.json").exists())


def test_a_reload_of_the_served_bundle_loads_nothing_unless_forced(client, app, env, bundles) -> None:  # type: ignore[no-untyped-def]
    from serving.runtime import read_reload_counter

    service = app.state.service
    state, counter = service.current, read_reload_counter(service.store)
    res = _reload_to(client, env, bundles[0])
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["model_run_id"] == bundles[0] and not body["changed"] and not body["reloaded"]
    assert service.current is state  # nothing was built or swapped
    assert read_reload_counter(service.store) == counter  # so no other worker rebuilds either
    assert 'recsys_bundle_reloads_total{outcome="unchanged"}' in client.get("/metrics").text
    forced = client.post("/v1/admin/reload", params={"force": "true"}, headers=key(env.world, "admin"))
    assert forced.status_code == 200 and forced.json()["reloaded"], forced.text
    assert service.current is not state and service.current.run_id == bundles[0]
    assert read_reload_counter(service.store) == counter + 1
