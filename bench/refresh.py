"""How fast other workers follow a change: a plan edit made through one worker, seen by another; a reload made on
one worker, followed by another; and the requests served (and failed) while one worker reloads under load.

    python -m bench.refresh                     # the 10k-product workspace of `python -m bench.run --scale 0.1`
    python -m bench.refresh --scale 1           # the same measures on the 100k-product workspace
    python -m bench.refresh --refresh-seconds 0.2 --repeats 50

Two workers are two apps in this process on one store and one artifacts folder, as `recsys serve --workers 2`
runs them. Each worker checks the store at most every ``serving.refresh_seconds`` (1 s by default), on the back of a
request; the figures below are measured from the write's acknowledgement to the first answer showing the change.
Figures, not tests: nothing here fails on a timing (the tests check that the change arrives, not how fast).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench import data
from bench.report import Report

OUT = Path(__file__).resolve().parent / "out"
POLL_S = 0.005  # how often the second worker is asked while waiting
GIVE_UP_S = 60.0  # a change not seen by then is reported as missed


def _settings(ws: data.Workspace, refresh_seconds: float | None):  # type: ignore[no-untyped-def]
    os.environ.update({k: v for k, v in ws.env.items() if k.startswith("RECSYS_")})
    from recsys.core.config import Settings

    settings = Settings()
    if refresh_seconds is not None:
        serving = settings.serving.model_copy(update={"refresh_seconds": refresh_seconds})
        settings = settings.model_copy(update={"serving": serving})
    return settings


@contextmanager
def _two_workers(settings) -> Iterator[tuple[Any, Any, dict[str, str]]]:  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    from recsys.core.keys import create_key
    from recsys.core.store import Store
    from serving.app import create_app

    store = Store.from_settings(settings)
    headers = {"X-API-Key": create_key(store, "admin")[1]}
    store.dispose()
    with TestClient(create_app(settings)) as first, TestClient(create_app(settings)) as second:
        yield first, second, headers


def _wait_for(check: Callable[[], bool]) -> float:
    """Seconds until ``check()`` first holds (asked every POLL_S); NaN if it never did within GIVE_UP_S."""
    started = time.perf_counter()
    while time.perf_counter() - started < GIVE_UP_S:
        if check():
            return time.perf_counter() - started
        time.sleep(POLL_S)
    return float("nan")


def _pool(client, headers: dict[str, str], creator: str, k: int = 20) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    res = client.get(f"/v1/creators/{creator}/products", params={"k": k}, headers=headers)
    return res.json()["items"] if res.status_code == 200 else []


def _creators_with_a_pool(ws: data.Workspace, client, headers: dict[str, str], n: int) -> list[str]:  # type: ignore[no-untyped-def]
    ids = pd.read_parquet(ws.dataset / "creators.parquet", columns=["creator_id"])["creator_id"].tolist()
    found = []
    for creator in ids:
        if _pool(client, headers, creator, 1):
            found.append(creator)
        if len(found) == n:
            break
    if not found:
        raise RuntimeError("no creator of the workspace has a product pool")
    return found


def measure_plan_edits(first, second, headers: dict[str, str], creators: list[str], repeats: int) -> dict[str, list]:  # type: ignore[no-untyped-def]
    """Per repeat: an exclusive plan for one creator written through ``first``; seconds until ``second`` lists it,
    then seconds until ``second`` drops it once it is ended."""
    seen, dropped = [], []
    tag = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    for i in range(repeats):
        creator = creators[i % len(creators)]
        product = _pool(second, headers, creator, 1)[0]["product_id"]
        now = datetime.now(UTC).replace(tzinfo=None)
        plan_id = f"bench-refresh-{tag}-{i}"
        body = {
            "plan_id": plan_id,
            "product_id": product,
            "plan_type": "exclusive",
            "commission_rate": 0.45,
            "creator_ids": [creator],
            "starts_at": (now - timedelta(hours=1)).isoformat(),
            "ends_at": (now + timedelta(minutes=10)).isoformat(),  # expires by itself if the bench is interrupted
        }
        res = first.post("/v1/plans", json=body, headers=headers)
        if res.status_code != 201:
            raise RuntimeError(f"plan refused: {res.text}")
        seen.append(_wait_for(lambda c=creator, p=plan_id: any(x["plan_id"] == p for x in _pool(second, headers, c))))
        ended = {"ends_at": (datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=1)).isoformat()}
        if first.patch(f"/v1/plans/{plan_id}", json=ended, headers=headers).status_code != 200:
            raise RuntimeError(f"could not end plan {plan_id}")
        dropped.append(
            _wait_for(lambda c=creator, p=plan_id: all(x["plan_id"] != p for x in _pool(second, headers, c)))
        )
    return {"seen": seen, "dropped": dropped}


def _linked_copy(artifacts: Path, source: str, run_id: str) -> None:
    """The bundle ``source`` under a new run id: files hard-linked (no copy of the vectors), the manifest rewritten
    as a file of its own (the manifest is not part of the checksums)."""
    target = artifacts / run_id
    if target.exists():
        return
    shutil.copytree(artifacts / source, target, copy_function=os.link)
    manifest_path = target / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["run_id"] = run_id
    manifest_path.unlink()  # break the hard link before writing
    manifest_path.write_text(json.dumps(manifest, indent=2))


def measure_reloads(first, second, headers: dict[str, str], settings, creator: str, repeats: int) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Reloads on ``first`` between the current bundle and a linked copy while two threads keep asking ``first``;
    seconds until ``second`` follows each reload, and the statuses of every request made meanwhile."""
    from models.bundle import set_current

    artifacts = settings.artifacts_dir
    original = (artifacts / "current").read_text().strip()
    twin = f"{original}-bench-refresh"
    _linked_copy(artifacts, original, twin)
    statuses: Counter[int] = Counter()
    stop = threading.Event()
    lock = threading.Lock()

    def load() -> None:
        while not stop.is_set():
            res = first.get(f"/v1/creators/{creator}/products", params={"k": 10}, headers=headers)
            with lock:
                statuses[res.status_code] += 1

    threads = [threading.Thread(target=load) for _ in range(2)]
    for t in threads:
        t.start()
    followed, reload_s = [], []
    started = time.perf_counter()
    try:
        for i in range(repeats):
            target = twin if i % 2 == 0 else original
            set_current(artifacts, target)
            t0 = time.perf_counter()
            res = first.post("/v1/admin/reload", headers=headers)
            reload_s.append(time.perf_counter() - t0)
            if res.status_code != 200:
                raise RuntimeError(f"reload refused: {res.text}")
            followed.append(_wait_for(lambda t=target: second.get("/readyz").json().get("model_run_id") == t))
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
        set_current(artifacts, original)
        first.post("/v1/admin/reload", headers=headers)
        shutil.rmtree(artifacts / twin, ignore_errors=True)
    return {
        "followed": followed,
        "reload_s": reload_s,
        "statuses": dict(statuses),
        "seconds": time.perf_counter() - started,
    }


def _spread(values: list[float]) -> str:
    v = np.asarray(values, dtype=np.float64)
    ok = v[np.isfinite(v)]
    missed = f", {int((~np.isfinite(v)).sum())} missed" if (~np.isfinite(v)).any() else ""
    if ok.size == 0:
        return f"none seen within {GIVE_UP_S:g} s{missed}"
    p50, p95 = np.percentile(ok, [50, 95])
    return f"{p50:.3f} / {p95:.3f} / {ok.max():.3f}{missed}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=0.1, help="size factor (0.1 = 10k products)")
    parser.add_argument("--repeats", type=int, default=20, help="plan edits (and reloads) to time")
    parser.add_argument("--refresh-seconds", type=float, default=None, help="serving.refresh_seconds (default: 1)")
    args = parser.parse_args()
    ws = data.workspaces(OUT, args.scale)[1]  # bench.run's smaller workspace: either reuses the other's bundle
    data.prepare(ws, train=False)  # generates, imports and trains only what is missing
    settings = _settings(ws, args.refresh_seconds)
    interval = settings.serving.refresh_seconds
    report = Report(title=f"refresh at scale {args.scale:g}, refresh_seconds {interval:g}")
    report.add("bundle", data.current_run_id(ws))
    with _two_workers(settings) as (first, second, headers):
        creators = _creators_with_a_pool(ws, second, headers, 5)
        plans = measure_plan_edits(first, second, headers, creators, args.repeats)
        report.add("plan edit on worker 1 -> listed by worker 2, s (p50 / p95 / max)", _spread(plans["seen"]))
        report.add("plan ended on worker 1 -> dropped by worker 2, s (p50 / p95 / max)", _spread(plans["dropped"]))
        reloads = measure_reloads(first, second, headers, settings, creators[0], max(2, args.repeats // 4))
        report.add("reload on worker 1, s (p50 / p95 / max)", _spread(reloads["reload_s"]))
        report.add("reload on worker 1 -> followed by worker 2, s (p50 / p95 / max)", _spread(reloads["followed"]))
        served = sum(n for code, n in reloads["statuses"].items() if code == 200)
        failed = sum(n for code, n in reloads["statuses"].items() if code != 200)
        report.add(
            f"requests to worker 1 during {len(reloads['reload_s'])} reloads: served, failed, per second",
            f"{served}, {failed}, {served / reloads['seconds']:.0f}",
        )
    report.print()


if __name__ == "__main__":
    main()
