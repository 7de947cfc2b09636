"""How requests split between workers (issue 20 item 3): keep-alive connections, a worker killed, with and without
keep-alive recycling (``serving.keepalive_requests`` / ``serving.keepalive_seconds``).

    python -m bench.balance --data-root /work/scratch/demo                 # both settings, 75 s each
    python -m bench.balance --data-root /work/scratch/demo --rate 60 --seconds 90 --kill-at 15

For each setting (``off``: keep-alive connections live forever, as before; ``on``: the defaults) it copies the demo
into a temporary workspace (``bench.soak.copy_workspace``), starts ``recsys serve --workers 2``, measures capacity
(closed loop, 10 s) unless ``--rate`` is given, then sends an open loop (64 keep-alive connections, latency from the
scheduled time, 10-s bound per request) at ``--load`` x capacity, SIGKILLs one worker at ``--kill-at`` seconds and
lets the server start a new one. Every request is attributed to the worker that answered it *exactly*: the first answer
on a connection finds the server side of that TCP connection in ``/proc/net/tcp`` and the worker holding its socket
in ``/proc/<pid>/fd``. Printed per 15-s window: requests per worker (the share of the busiest), errors, p50/p99.
Figures, not tests.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import shutil
import signal
import tempfile
import time
from collections import Counter
from pathlib import Path

import psutil

from bench.soak import _free_port, copy_workspace, read_paths, running_server
from bench.soak_load import REQUEST_TIMEOUT_S
from bench.soak_load import Connection as TimedConnection
from bench.soak_ops import read_keys
from bench.soak_summary import is_error, percentile

WINDOW_S = 15.0
POOL = 64
SETTINGS = {
    "off": {"RECSYS_SERVING__KEEPALIVE_REQUESTS": "0", "RECSYS_SERVING__KEEPALIVE_SECONDS": "0"},
    "on": {},  # the defaults
}


def _workers(server_pid: int) -> list[int]:
    found = []
    with contextlib.suppress(psutil.Error):
        for child in psutil.Process(server_pid).children():
            with contextlib.suppress(psutil.Error):
                if "resource_tracker" not in " ".join(child.cmdline()):
                    found.append(child.pid)
    return found


def _server_inode(server_port: int, client_port: int) -> str | None:
    """The inode of the server side of the 127.0.0.1 connection from ``client_port``."""
    local, remote = f"0100007F:{server_port:04X}", f"0100007F:{client_port:04X}"
    with open("/proc/net/tcp") as f:
        for line in f:
            cols = line.split()
            if len(cols) > 9 and cols[1] == local and cols[2] == remote:
                return cols[9]
    return None


def _owner(inode: str, pids: list[int]) -> int | None:
    target = f"socket:[{inode}]"
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                        return pid
    return None


class Attributed(TimedConnection):
    """A timed keep-alive connection that knows which worker holds its other end (found after its first answer)."""

    ids = itertools.count(1)

    def __init__(self, port: int, headers: dict[str, str], server_pid: int) -> None:
        super().__init__(port, headers)
        self.server_pid = server_pid
        self.conn_id = 0
        self.pid: int | None = None

    async def get(self, path: str) -> int | str:
        if self.writer is None:
            try:
                self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
            except OSError:
                return "conn_error"
            self.conn_id, self.pid = next(self.ids), None
            self.local_port = int(self.writer.get_extra_info("sockname")[1])
        status = await super().get(path)
        if self.pid is None and self.writer is not None:
            inode = _server_inode(self.port, self.local_port)
            self.pid = _owner(inode, _workers(self.server_pid)) if inode else None
        return status


Row = tuple[float, float, int | str, int | None]  # scheduled t, latency ms, status, worker pid (None: unknown)


async def _open_loop(
    port: int,
    server_pid: int,
    headers: dict[str, str],
    paths: list[str],
    rate: float,
    seconds: float,
    kill_at: float,
    notes: list[str],
) -> list[Row]:
    rows: list[Row] = []
    idle: asyncio.Queue[Attributed] = asyncio.Queue()
    for _ in range(POOL):
        idle.put_nowait(Attributed(port, headers, server_pid))
    queue = itertools.cycle(paths)
    t0 = time.perf_counter()

    async def one(scheduled: float, path: str) -> None:
        try:
            conn = await asyncio.wait_for(idle.get(), REQUEST_TIMEOUT_S)
        except TimeoutError:
            rows.append((scheduled - t0, 1000 * (time.perf_counter() - scheduled), "timeout", None))
            return
        try:
            status = await conn.get(path)
            rows.append((scheduled - t0, 1000 * (time.perf_counter() - scheduled), status, conn.pid))
        finally:
            idle.put_nowait(conn)

    async def killer() -> None:
        await asyncio.sleep(kill_at)
        victims = _workers(server_pid)
        if victims:
            os.kill(victims[0], signal.SIGKILL)
            notes.append(f"t={kill_at:g} s: SIGKILL worker {victims[0]} of {victims}")

    kill = asyncio.create_task(killer())
    tasks = []
    for i in range(int(rate * seconds)):
        scheduled = t0 + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(scheduled, next(queue))))
    await asyncio.wait(tasks, timeout=2 * REQUEST_TIMEOUT_S + 5)
    await kill
    while not idle.empty():
        await idle.get_nowait().close()
    return rows


async def _capacity(port: int, headers: dict[str, str], paths: list[str], seconds: float) -> float:
    from bench.soak_load import closed_loop

    await closed_loop(port, headers, paths, 4, 3.0)  # warm
    rate, _ = await closed_loop(port, headers, paths, 4, seconds)
    return rate


def summarize(rows: list[Row], seconds: float) -> list[str]:
    """One line per window: requests per worker (ordered by pid), the busiest worker's share, errors, p50/p99."""
    lines = [
        "| window s | requests by worker | busiest share | errors | p50 ms | p99 ms |",
        "|---|---|---|---|---|---|",
    ]
    start = 0.0
    while start < seconds:
        inside = [r for r in rows if start <= r[0] < start + WINDOW_S]
        per = Counter(r[3] for r in inside if not is_error(r[2]))
        counts = " / ".join(f"{pid}: {n}" for pid, n in sorted(per.items(), key=lambda kv: kv[0] or 0))
        ok = [r[1] for r in inside if not is_error(r[2])]
        errors = Counter(str(r[2]) for r in inside if is_error(r[2]))
        share = max(per.values()) / sum(per.values()) if per else float("nan")
        err = ", ".join(f"{k}: {v}" for k, v in errors.items()) or "0"
        p50, p99 = percentile(ok, 50), percentile(ok, 99)
        lines.append(f"| {start:g}-{start + WINDOW_S:g} | {counts} | {share:.0%} | {err} | {p50:.0f} | {p99:.0f} |")
        start += WINDOW_S
    return lines


def run_one(name: str, source: Path, args: argparse.Namespace, rate: float | None) -> tuple[float, list[str]]:
    root = Path(tempfile.mkdtemp(prefix=f"recsys-balance-{name}-"))
    saved = {k: os.environ.get(k) for k in SETTINGS[name]}
    os.environ.update(SETTINGS[name])
    try:
        copy_workspace(source, root)
        keys = read_keys(root / "data")
        headers = {"X-API-Key": keys["admin"]}
        paths = read_paths(root / "data" / "recsys.db")
        port = _free_port()
        with running_server(root, port, 2) as proc:
            if rate is None:
                rate = args.load * asyncio.run(_capacity(port, headers, paths, 10.0))
            notes: list[str] = []
            rows = asyncio.run(_open_loop(port, proc.pid, headers, paths, rate, args.seconds, args.kill_at, notes))
        out = [f"### keep-alive recycling {name} ({rate:.0f} req/s open loop, {POOL} connections)", *notes, ""]
        return rate, out + summarize(rows, args.seconds)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.balance", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-root", type=Path, required=True, help="a built demo (data/ and artifacts/)")
    parser.add_argument("--seconds", type=float, default=75.0, help="open-loop length per setting (default 75)")
    parser.add_argument("--kill-at", type=float, default=15.0, help="SIGKILL one worker at this second (default 15)")
    parser.add_argument("--load", type=float, default=0.8, help="share of measured capacity (default 0.8)")
    parser.add_argument("--rate", type=float, default=None, help="a fixed rate instead (same for both settings)")
    parser.add_argument("--only", choices=sorted(SETTINGS), default=None, help="run one setting only")
    args = parser.parse_args()
    rate = args.rate
    print(
        f"python -m bench.balance — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    for name in [args.only] if args.only else ["off", "on"]:
        rate, lines = run_one(name, args.data_root, args, rate)  # the second setting reuses the first's rate
        print("\n".join(lines), flush=True)


if __name__ == "__main__":
    main()
