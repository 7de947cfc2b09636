"""CPU time per list request (issue 20, item 1): the server's process CPU seconds / requests over a bounded closed
loop, next to the in-process matcher and the in-process compiled floor (FAISS + compiled ranker on 1,000 candidates +
top-50), per direction, with their ratios.

    python -m bench.request_cpu --scale 0.1                      # the working tree's server
    python -m bench.request_cpu --scale 0.1 --base /tmp/p_base   # and a second code tree's server, side by side

``--base DIR`` serves the same workspace from another copy of the code (e.g. ``git archive HEAD | tar -x -C DIR``)
so a change's before/after CPU comes from one run: the servers run at the same time on two ports and the repeats
alternate between them, so the machine's load (shared, noisy) hits both alike; ``--base-artifacts DIR`` gives the
baseline another bundle (a folder whose ``current`` names it: e.g. one in a format the base code still reads, next
to the bundle the working tree trains now). Each figure is the median of ``--repeats``. Figures, not tests:
nothing here fails on a timing. ``python -m bench.run`` prints the same table for the working tree (see
:func:`measure`).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import psutil

from bench import data, inprocess
from bench.http_load import closed_loop
from bench.report import Report
from bench.server import admin_key
from models.matching.matcher import Matcher
from recsys.core.vocab import DIRECTIONS, Direction

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"


@dataclass
class InProcess:
    """Per direction, CPU ms per call of the matcher (top-50) and of the compiled floor."""

    matcher_ms: float
    floor_ms: float


def cpu_ms_per_call(fn: Callable[[int], object], n: int, warmup: int = 20) -> float:
    """This process's CPU milliseconds per call of ``fn(i)`` over ``n`` calls (after ``warmup`` calls)."""
    for i in range(min(warmup, n)):
        fn(i)
    started = time.process_time()
    for i in range(n):
        fn(i)
    return 1000 * (time.process_time() - started) / n


def in_process(matcher: Matcher, direction: Direction, rows: np.ndarray) -> InProcess:
    """CPU per call of the full matcher and of the compiled floor, on the same query rows."""
    ids = direction.select(matcher.engine.tables.creators, matcher.engine.tables.products)
    names = [ids.id(int(r)) for r in rows]
    full = cpu_ms_per_call(lambda i: matcher.recommend(direction, names[i % len(names)], inprocess.TOP), len(rows))
    return InProcess(full, cpu_ms_per_call(inprocess.floor_call(matcher, direction, rows), len(rows)))


def list_paths(matcher: Matcher, direction: Direction, rows: np.ndarray) -> list[str]:
    """The HTTP list paths (top-50) of ``rows``' entities, as ``bench.run`` asks them."""
    ids = direction.select(matcher.engine.tables.creators, matcher.engine.tables.products)
    route = direction.select("creators/{}/products", "products/{}/creators")
    return [f"/v1/{route.format(ids.id(int(r)))}?k={inprocess.TOP}" for r in rows]


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its children (the server and its workers)."""
    procs = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    return sum(p.cpu_times().user + p.cpu_times().system for p in procs)


@dataclass
class CodeServer:
    """``recsys serve`` (1 worker) run from the code tree ``code`` on ``port``."""

    label: str
    code: Path
    port: int
    pid: int = 0
    key: str = ""
    artifacts: Path | None = None  # serve the bundle named by this folder's ``current`` (default: the workspace's)


@contextmanager
def serving(ws: data.Workspace, server: CodeServer, ready_timeout_s: float = 900) -> Iterator[CodeServer]:
    """Start ``recsys serve`` from ``server.code`` (its modules first on the path), wait for /readyz, stop it."""
    env = {**ws.env, "PYTHONPATH": str(server.code)}
    if server.artifacts is not None:
        env["RECSYS_ARTIFACTS_DIR"] = str(server.artifacts)
    server.key = admin_key(ws)
    log = (ws.root / "logs" / f"request-cpu-{server.port}.log").open("w")
    cmd = [sys.executable, "-m", "recsys", "serve", "--port", str(server.port), "--workers", "1"]
    proc = subprocess.Popen(cmd, cwd=server.code, env=env, stdout=log, stderr=subprocess.STDOUT)
    server.pid = proc.pid
    try:
        deadline = time.time() + ready_timeout_s
        while not _ready(server.port):
            if proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"the server from {server.code} did not start; see {log.name}")
            time.sleep(1)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as resp:
            return resp.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def server_cpu_ms(server: CodeServer, paths: list[str], requests: int) -> float:
    """The server's CPU milliseconds per request over ``requests`` GETs on one keep-alive connection."""
    headers = {"X-API-Key": server.key}
    before = process_cpu_seconds(server.pid)
    result = closed_loop("127.0.0.1", server.port, headers, paths, 1, requests, limit_s=300)
    used = process_cpu_seconds(server.pid) - before
    if result.errors:
        raise RuntimeError(f"{result.errors} failed requests against {server.label}")
    return 1000 * used / max(result.requests, 1)


def compare_servers(
    ws: data.Workspace, servers: list[CodeServer], paths: dict[Direction, list[str]], requests: int, repeats: int
) -> dict[tuple[str, Direction], float]:
    """Median CPU ms per request of each server and direction; repeats alternate between the servers."""
    samples: dict[tuple[str, Direction], list[float]] = {(s.label, d): [] for s in servers for d in DIRECTIONS}
    with ExitStack() as stack:
        running = [stack.enter_context(serving(ws, s)) for s in servers]
        for s in running:  # warm every cache (compiled models, first-touch pages) before counting
            for d in DIRECTIONS:
                closed_loop("127.0.0.1", s.port, {"X-API-Key": s.key}, paths[d], 1, 50)
        for _ in range(repeats):
            for s in running:
                for d in DIRECTIONS:
                    samples[(s.label, d)].append(server_cpu_ms(s, paths[d], requests))
    return {key: float(np.median(v)) for key, v in samples.items()}


def report_rows(
    report: Report, inproc: dict[Direction, InProcess], served: dict[tuple[str, Direction], float], labels: list[str]
) -> None:
    """The table: in-process floor and matcher, each server's CPU per request, ratios to the floor and between
    the servers (the first label is the baseline)."""
    for d in DIRECTIONS:
        floor, full = inproc[d].floor_ms, inproc[d].matcher_ms
        report.add(f"CPU ms per call, in-process compiled floor ({d})", f"{floor:.2f}")
        report.add(f"CPU ms per call, in-process matcher top-50 ({d}); / floor", f"{full:.2f}; {full / floor:.2f}x")
        for label in labels:
            ms = served[(label, d)]
            report.add(f"CPU ms per HTTP request, server {label} ({d}); / floor", f"{ms:.2f}; {ms / floor:.2f}x")
        if len(labels) > 1:
            base, now = served[(labels[0], d)], served[(labels[-1], d)]
            report.add(f"CPU per request {labels[-1]} / {labels[0]} ({d})", f"{now / base:.2f}")


def measure(
    report: Report,
    ws: data.Workspace,
    inproc: dict[Direction, InProcess],
    paths: dict[Direction, list[str]],
    port: int,
    requests: int = 300,
    repeats: int = 3,
) -> None:
    """``bench.run``'s hook: the working tree's server CPU per request next to the in-process figures."""
    served = compare_servers(ws, [CodeServer("working tree", ROOT, port)], paths, requests, repeats)
    report_rows(report, inproc, served, ["working tree"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=0.1, help="the bench workspace (1.0 = 1M products)")
    parser.add_argument("--base", type=Path, help="another code tree to serve side by side (the baseline)")
    parser.add_argument(
        "--base-artifacts",
        type=Path,
        help="the baseline serves the bundle this artifacts folder's `current` names (e.g. one in a format the base "
        "code reads) [the workspace's]",
    )
    parser.add_argument("--code", type=Path, default=ROOT, help="the code tree under test [this repository]")
    parser.add_argument("--queries", type=int, default=200, help="query entities per direction")
    parser.add_argument("--requests", type=int, default=300, help="requests per direction per repeat")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--port", type=int, default=8791)
    args = parser.parse_args()
    ws = data.workspaces(OUT, args.scale)[0]
    if not ws.has_bundle():
        raise SystemExit(f"no bundle in {ws.root}: run `python -m bench.run --scale {args.scale:g}` first")
    os.environ.update({k: v for k, v in ws.env.items() if k.startswith("RECSYS_")})
    from recsys.core.config import Settings  # after the workspace's settings are in the environment
    from serving.state import open_matcher_state

    matcher = open_matcher_state(Settings()).matcher
    inproc, paths = {}, {}
    for d in DIRECTIONS:
        rows = inprocess.query_rows(matcher, d, args.queries, seed=3)
        inproc[d] = in_process(matcher, d, rows)
        paths[d] = list_paths(matcher, d, rows)
    del matcher
    if args.base_artifacts is not None and args.base is None:
        raise SystemExit("--base-artifacts names the baseline's bundle: give --base too")
    servers = [CodeServer("base", args.base, args.port + 1, artifacts=args.base_artifacts)] if args.base else []
    servers.append(CodeServer("working tree", args.code, args.port))
    served = compare_servers(ws, servers, paths, args.requests, args.repeats)
    report = Report(title=f"CPU per list request at scale {args.scale:g} (medians of {args.repeats})")
    report_rows(report, inproc, served, [s.label for s in servers])
    report.print()


if __name__ == "__main__":
    main()
