"""The service under test: `recsys serve` in a subprocess on 127.0.0.1, an admin key, readiness and memory."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psutil

from bench.data import RECSYS, Workspace


@dataclass
class Server:
    process: subprocess.Popen  # type: ignore[type-arg]
    port: int
    key: str
    ready_s: float = float("nan")  # from the process start to the first of ten 200s from /readyz in a row

    def memory(self) -> dict[str, int]:
        """RSS and PSS (shared pages split between processes) of the server and its workers, in bytes."""
        procs = [psutil.Process(self.process.pid), *psutil.Process(self.process.pid).children(recursive=True)]
        rss = pss = 0
        workers = []
        for p in procs:
            info = p.memory_full_info()
            rss += info.rss
            pss += getattr(info, "pss", info.rss)
            workers.append(info.rss)
        return {"rss_total": rss, "pss_total": pss, "rss_largest_process": max(workers)}


def admin_key(ws: Workspace) -> str:
    out = subprocess.run([*RECSYS, "keys", "create", "--admin"], env=ws.env, check=True, capture_output=True, text=True)
    return out.stdout.strip().splitlines()[-1].strip()


@contextmanager
def serve(ws: Workspace, port: int, workers: int, ready_timeout_s: float = 900) -> Iterator[Server]:
    """Start the service, wait until /readyz answers 200, yield, then stop it."""
    key = admin_key(ws)
    log = (ws.root / "logs" / f"serve-{workers}w.log").open("w")
    proc = subprocess.Popen(
        [*RECSYS, "serve", "--port", str(port), "--workers", str(workers)],
        env=ws.env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    started, first_ready = time.perf_counter(), float("nan")
    try:
        deadline = time.time() + ready_timeout_s
        ready_in_a_row = 0
        while ready_in_a_row < 10:  # with several workers, any of them may answer: ask until all seem ready
            if proc.poll() is not None:
                raise RuntimeError(f"recsys serve exited with {proc.returncode}; see {log.name}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as resp:
                    ok = resp.status == 200 and json.loads(resp.read()).get("status") == "ready"
            except (urllib.error.URLError, ConnectionError, TimeoutError, json.JSONDecodeError):
                ok = False
            ready_in_a_row = ready_in_a_row + 1 if ok else 0
            if ready_in_a_row == 1:
                first_ready = time.perf_counter() - started
            if time.time() > deadline:
                raise RuntimeError("the service did not become ready in time")
            time.sleep(0.2 if ok else 1)
        yield Server(proc, port, key, first_ready)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
