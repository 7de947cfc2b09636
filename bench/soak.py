"""Soak and fault benchmark (issue 19, item 6): the demo under steady load for minutes, with reloads, plan edits and
event batches mixed in and three faults injected at known times, reported per 30-s window.

    python -m bench.soak                                   # 10 min at 80% of measured capacity, 2 workers
    python -m bench.soak --minutes 1 --data-root /work/scratch/demo      # a quick look on a built demo
    python -m bench.soak --minutes 30 --workers 4 --load 0.6 --out bench/out/soak.json

What it does:
1. Copies a built demo (``--data-root``: a folder with ``data/`` and ``artifacts/`` as ``recsys demo`` makes them,
   keys in ``data/demo_keys.json``) into a private temporary workspace — the store by SQLite's backup API, the current
   bundle and a twin of it under another run id — so nothing it does (writes, faults) touches the original. Without
   ``--data-root`` it uses ``bench/out/soak-demo``, built once by ``recsys demo --build-only`` (about 10 minutes).
2. Starts ``recsys serve --workers N`` on 127.0.0.1 (a free port) in its own process group.
3. Measures capacity: 20 s closed loop, 2 connections per worker, mixed creator-pool and product-creators GETs
   (``k=20``, the admin key). Warms up (``--warmup``, 60 s): the open loop below with one plan edit, one event
   batch and one reload, reported on its own. A worker's first reload raises its RSS once by ~5% (the allocators'
   high-water mark of two states alive at once; later reloads reuse that memory); the RSS baseline is taken after
   it, so growth measures what the service keeps, not that one step. Then an open loop at ``--load`` x that rate
   for ``--minutes``, latency counted from the scheduled time, every request bounded (10 s). Mixed in: a reload
   every 2 minutes (alternating between the bundle and its twin: a real swap), a plan edit (POST + PATCH by the
   demo merchant) every 15 s, a batch of 20 promotion events every 20 s, /readyz every 2 s, the RSS of the server
   and its workers every 2 s.
4. Faults at 30%, 50% and 70% of the run (+10 s): a worker SIGKILLed (does the server start a new one, and when?), the
   SQLite file held by ``BEGIN EXCLUSIVE`` for 3 s (with writes sent meanwhile), the largest file of the current
   bundle truncated for 5 s (a reload is sent: it must be refused while the old bundle keeps serving; the file is
   then restored and reloaded). Each fault's window is the 30 s after it (cut short by the next fault).
5. Reports per 30-s window requests, errors by status, p50/p99 latency and RSS; totals: errors outside the fault
   windows (target 0), RSS growth from the first to the last minute over processes alive in both (target < 5%), each
   fault's cost (errors, p99 vs the 30 s before, recovery time). Printed, and written to ``--out`` (markdown, or
   JSON when the name ends in .json).

The server is always stopped (SIGTERM then SIGKILL to its process group) and the workspace removed. Figures, not
tests: nothing here fails on a timing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from bench.soak_load import closed_loop, open_loop
from bench.soak_ops import Operations, Target, promotion_templates, read_keys
from bench.soak_report import SoakResult, WarmUp, print_result, write_result
from bench.soak_summary import Record

HERE = Path(__file__).resolve().parent
DEFAULT_DEMO = HERE / "out" / "soak-demo"
CAPACITY_S = 20.0
RELOAD_EVERY_S = 120.0
PLAN_EVERY_S = 15.0
EVENTS_EVERY_S = 20.0
SAMPLE_EVERY_S = 2.0


def _env(root: Path) -> dict[str, str]:
    return {
        **os.environ,
        "RECSYS_DATA_DIR": str(root / "data"),
        "RECSYS_ARTIFACTS_DIR": str(root / "artifacts"),
        "RECSYS_RUNS_DIR": str(root / "runs"),
    }


def ensure_demo(source: Path | None) -> Path:
    """The built demo to copy: ``source`` as given, or ``bench/out/soak-demo`` (built on first use)."""
    root = source or DEFAULT_DEMO
    if not (root / "data" / "demo_keys.json").exists() or not (root / "artifacts" / "current").exists():
        if source is not None:
            raise SystemExit(f"{root} is not a built demo (needs data/demo_keys.json and artifacts/current)")
        print(f"building the demo in {root} (recsys demo --build-only; about 10 minutes, once)", flush=True)
        root.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "recsys", "demo", "--build-only"], env=_env(root), check=True)
    return root


def copy_workspace(source: Path, target: Path) -> tuple[str, str]:
    """The store (a consistent copy, even of a store in use), the keys and the current bundle plus a twin under
    another run id into ``target``. Returns the two run ids."""
    (target / "data").mkdir(parents=True)
    (target / "artifacts").mkdir()
    with (
        contextlib.closing(sqlite3.connect(f"file:{source / 'data' / 'recsys.db'}?mode=ro", uri=True)) as src,
        contextlib.closing(sqlite3.connect(target / "data" / "recsys.db")) as dst,
    ):
        src.backup(dst)
    shutil.copy2(source / "data" / "demo_keys.json", target / "data" / "demo_keys.json")
    run_id = (source / "artifacts" / "current").read_text().strip()
    twin = f"{run_id}-soak-twin"
    shutil.copytree(source / "artifacts" / run_id, target / "artifacts" / run_id)
    shutil.copytree(source / "artifacts" / run_id, target / "artifacts" / twin)
    manifest = target / "artifacts" / twin / "manifest.json"
    text = manifest.read_text().replace(f'"run_id": "{run_id}"', f'"run_id": "{twin}"', 1)
    manifest.chmod(0o644)
    manifest.write_text(text)
    (target / "artifacts" / "current").write_text(run_id + "\n")
    return run_id, twin


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as res:
            return res.status == 200
    except (OSError, urllib.error.URLError):
        return False


@contextlib.contextmanager
def running_server(root: Path, port: int, workers: int, timeout_s: float = 180) -> Iterator[subprocess.Popen[bytes]]:
    """``recsys serve`` in its own process group until /readyz answers 200 ten times in a row; always stopped."""
    log = (root / "serve.log").open("w")
    cmd = [sys.executable, "-m", "recsys", "serve", "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(
        [*cmd, "--workers", str(workers)], env=_env(root), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        deadline, in_a_row = time.monotonic() + timeout_s, 0
        while in_a_row < 10:
            if proc.poll() is not None:
                raise RuntimeError(f"recsys serve exited with {proc.returncode}; see {log.name}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the service was not ready within {timeout_s:g} s; see {log.name}")
            in_a_row = in_a_row + 1 if _ready(port) else 0
            time.sleep(0.2)
        yield proc
    finally:
        _stop(proc)
        log.close()


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process group, SIGKILL after 20 s; then any process of the group still there."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # workers left behind by a supervisor that died first


def read_paths(db: Path, seed: int = 19, n: int = 100) -> list[str]:
    """Alternating creator-pool and product-creators GETs over ``n`` random creators and products of the store."""
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        creators = [r[0] for r in conn.execute("SELECT creator_id FROM creators ORDER BY creator_id")]
        products = [r[0] for r in conn.execute("SELECT product_id FROM products ORDER BY product_id")]
    rng = random.Random(seed)
    pairs = zip(rng.sample(creators, min(n, len(creators))), rng.sample(products, min(n, len(products))), strict=True)
    return [p for c, pr in pairs for p in (f"/v1/creators/{c}/products?k=20", f"/v1/products/{pr}/creators?k=20")]


def merchant_products(db: Path, merchant_id: str) -> list[str]:
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        rows = conn.execute("SELECT product_id FROM products WHERE merchant_id = ? ORDER BY product_id", (merchant_id,))
        return [r[0] for r in rows][:20]


def schedule(duration_s: float) -> tuple[list[tuple[float, str]], list[tuple[str, float]]]:
    """The mixed-in operations ``(t, what)`` and the faults ``(name, t)`` of a run of ``duration_s``."""
    ops: list[tuple[float, str]] = []
    t = min(60.0, 0.1 * duration_s)
    while t < duration_s - 5:
        ops.append((t, "reload"))
        t += RELOAD_EVERY_S
    ops += [(t, "plan") for t in _every(5.0, PLAN_EVERY_S, duration_s)]
    ops += [(t, "events") for t in _every(10.0, EVENTS_EVERY_S, duration_s)]
    ops += [(t, "readyz") for t in _every(1.0, SAMPLE_EVERY_S, duration_s)]
    faults = [
        ("worker killed", 0.3 * duration_s + 10),
        ("store locked", 0.5 * duration_s + 10),
        ("bundle file damaged", 0.7 * duration_s + 10),
    ]
    return sorted(ops), faults


def _every(first: float, step: float, end: float) -> list[float]:
    out, t = [], first
    while t < end - 2:
        out.append(t)
        t += step
    return out


async def soak(target: Target, paths: list[str], args: argparse.Namespace) -> SoakResult:
    headers = {"X-API-Key": target.keys["admin"]}
    connections = 2 * args.workers
    capacity, _ = await closed_loop(target.port, headers, paths, connections, 3.0)  # warms every worker
    if args.rate is None:
        capacity, _ = await closed_loop(target.port, headers, paths, connections, CAPACITY_S)
    rate = args.rate or max(1.0, args.load * capacity)
    duration = 60.0 * args.minutes
    closed = f"closed loop, {connections} connections"
    print(f"capacity {capacity:.0f} req/s ({closed}); soak at {rate:.0f} req/s for {duration:.0f} s", flush=True)
    warm = await warm_up(target, headers, paths, rate, args.warmup) if args.warmup > 0 else None
    t0 = time.perf_counter() + 0.5
    records: list[Record] = []
    ops = Operations(target, t0, tag=time.strftime("%H%M%S"), reloads=warm.reloads if warm else 0)
    planned, faults = schedule(duration)
    fault_notes: dict[str, str] = {}
    jobs = [*planned, *((t, f"fault:{name}") for name, t in faults)]
    await _phase(ops, headers, paths, rate, duration, records, jobs, fault_notes)
    result = SoakResult(vars(args), capacity, rate, duration, records, ops.ops, ops.memory, faults, fault_notes)
    result.load_averages = ops.load_averages
    result.warmup = warm
    return result


async def warm_up(target: Target, headers: dict[str, str], paths: list[str], rate: float, seconds: float) -> WarmUp:
    """``seconds`` of the same open loop before the measured run, with one of each mixed-in operation — a plan
    edit, an event batch and a reload to the twin bundle — so every code path has run once and the allocators have
    reached the high-water mark of a reload (two states alive at once) before the RSS baseline is taken. Reported
    on its own (requests, errors, RSS before and after), never mixed into the measured windows."""
    print(f"warm-up: {seconds:.0f} s at {rate:.0f} req/s with a plan edit, an event batch and a reload", flush=True)
    t0 = time.perf_counter() + 0.5
    records: list[Record] = []
    ops = Operations(target, t0, tag=time.strftime("%H%M%S") + "w")
    jobs = [(2.0, "plan"), (4.0, "events"), (min(10.0, seconds / 4), "reload")]
    jobs += [(t, "readyz") for t in _every(1.0, SAMPLE_EVERY_S, seconds)]
    await _phase(ops, headers, paths, rate, seconds, records, jobs, {})
    return WarmUp(seconds, records, ops.ops, ops.memory, ops.reloads)


async def _phase(
    ops: Operations,
    headers: dict[str, str],
    paths: list[str],
    rate: float,
    seconds: float,
    records: list[Record],
    jobs: list[tuple[float, str]],
    fault_notes: dict[str, str],
) -> None:
    """The open loop from ``ops.t0`` for ``seconds`` with ``jobs`` mixed in, a last memory sample; ``ops`` closed."""
    try:
        await asyncio.gather(
            open_loop(ops.target.port, headers, paths, rate, ops.t0, seconds, records),
            asyncio.wait_for(_mixed_in(ops, jobs, fault_notes), seconds + 90),
        )
        ops.sample_memory()
    finally:
        await ops.close()


async def _mixed_in(ops: Operations, jobs: list[tuple[float, str]], fault_notes: dict[str, str]) -> None:
    """Each ``(t, what)`` started at its time (a memory sample with every readiness check); waits for them all."""
    pending = set()
    for t, what in sorted(jobs):
        await asyncio.sleep(max(0.0, t - ops.now()))
        if what == "readyz":
            ops.sample_memory()
        pending.add(asyncio.create_task(_operation(ops, what, fault_notes)))
    if pending:
        await asyncio.wait(pending, timeout=60)


async def _operation(ops: Operations, what: str, notes: dict[str, str]) -> None:
    """One mixed-in operation, or a fault (``fault:<name>``) whose outcome goes to ``notes``."""
    if what == "reload":
        await ops.reload()
    elif what == "plan":
        await ops.plan_edit()
    elif what == "events":
        await ops.events()
    elif what == "readyz":
        await ops.readyz()
    else:
        name = what.removeprefix("fault:")
        try:
            if name == "worker killed":
                notes[name] = await ops.kill_worker()
            elif name == "store locked":
                notes[name] = await ops.lock_store()
            else:
                notes[name] = await ops.damage_bundle()
        except Exception as exc:  # a fault that could not be injected is reported, not fatal
            notes[name] = f"could not inject: {type(exc).__name__}: {exc}"


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the open-loop soak (default 10)")
    parser.add_argument("--workers", type=int, default=2, help="recsys serve --workers (default 2)")
    parser.add_argument("--load", type=float, default=0.8, help="share of the measured capacity to send (default 0.8)")
    parser.add_argument(
        "--warmup",
        type=float,
        default=60.0,
        help="seconds of load before the measured run, with a plan edit, an event batch and a reload, reported on "
        "their own: the RSS baseline is taken after every code path and a reload's two-state peak have run once "
        "(default 60; 0: none)",
    )
    parser.add_argument(
        "--rate", type=float, default=None, help="a fixed open-loop rate in req/s instead of --load x capacity"
    )
    parser.add_argument(
        "--data-root",
        type=Path,
        default=None,
        help=f"a built demo to copy (default {DEFAULT_DEMO}, built on first use)",
    )
    parser.add_argument(
        "--out", type=Path, default=HERE / "SOAK.md", help="results file, .md or .json (default bench/SOAK.md)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary workspace (store, bundles, serve.log)")
    args = parser.parse_args()
    if args.minutes <= 0 or not 0 < args.load <= 2 or args.workers < 1 or args.warmup < 0:
        parser.error("--minutes must be > 0, --load in (0, 2], --workers >= 1, --warmup >= 0")
    source = ensure_demo(args.data_root)
    root = Path(tempfile.mkdtemp(prefix="recsys-soak-"))
    signal.signal(signal.SIGTERM, _interrupt)  # a terminated soak still stops its server (the finally blocks)
    try:
        bundles = copy_workspace(source, root)
        db = root / "data" / "recsys.db"
        keys = read_keys(root / "data")
        port = _free_port()
        with running_server(root, port, args.workers) as proc:
            products = merchant_products(db, keys["merchant_id"])
            artifacts, log = root / "artifacts", root / "serve.log"
            target = Target(port, proc.pid, keys, db, artifacts, bundles, promotion_templates(db), products, log)
            result = asyncio.run(soak(target, read_paths(db), args))
        result.serve_log_tail = (root / "serve.log").read_text(errors="replace").splitlines()[-15:]
        print_result(result)
        write_result(result, args.out)
        print(f"written to {args.out}")
    except KeyboardInterrupt:
        print("interrupted: the server was stopped, no results written", file=sys.stderr)
        raise SystemExit(130) from None
    finally:
        if args.keep:
            print(f"workspace kept: {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
