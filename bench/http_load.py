"""A small, bounded HTTP/1.1 load generator for 127.0.0.1 (asyncio, keep-alive, no dependencies).

Closed loop (``closed_loop``): ``connections`` clients each send their next request when the previous answer
arrives — latency at a given concurrency. Open loop (``open_loop``): requests are *scheduled* at a fixed rate and
their latency counts from the scheduled time, so a slow server cannot hide queueing delay (no coordinated
omission). Every run is bounded by a request count and a wall-clock limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np


@dataclass
class LoadResult:
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0

    @property
    def requests(self) -> int:
        return len(self.latencies_ms) + self.errors

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.latencies_ms, q)) if self.latencies_ms else float("nan")

    @property
    def throughput(self) -> float:
        return len(self.latencies_ms) / self.seconds if self.seconds else 0.0


class Connection:
    """One HTTP/1.1 keep-alive connection (GET only; bodies read by Content-Length; a `Connection: close` answer
    closes it, the next GET reconnects)."""

    def __init__(self, host: str, port: int, headers: dict[str, str]) -> None:
        self.host, self.port = host, port
        self.extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: {self.host}\r\n{self.extra}\r\n".encode())
        await self.writer.drain()
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        length = next((int(x.split(":", 1)[1]) for x in lines if x.lower().startswith("content-length:")), 0)
        await self.reader.readexactly(length)
        if any(x.lower() == "connection: close" for x in lines):
            await self.close()
        return status

    async def close(self) -> None:
        writer, self.reader, self.writer = self.writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


async def _closed(
    host: str, port: int, headers: dict[str, str], paths: Sequence[str], connections: int, requests: int, limit_s: float
) -> LoadResult:
    result = LoadResult()
    queue = itertools.cycle(paths)
    remaining = [requests]
    deadline = time.perf_counter() + limit_s

    async def client() -> None:
        conn = Connection(host, port, headers)
        try:
            while remaining[0] > 0 and time.perf_counter() < deadline:
                remaining[0] -= 1
                started = time.perf_counter()
                try:
                    status = await conn.get(next(queue))
                except (ConnectionError, asyncio.IncompleteReadError):
                    result.errors += 1
                    conn = Connection(host, port, headers)
                    continue
                if status == 200:
                    result.latencies_ms.append(1000 * (time.perf_counter() - started))
                else:
                    result.errors += 1
        finally:
            await conn.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(connections)))
    result.seconds = time.perf_counter() - t0
    return result


async def _open(
    host: str, port: int, headers: dict[str, str], paths: Sequence[str], rate: float, seconds: float, pool: int
) -> LoadResult:
    result = LoadResult()
    idle: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(pool):
        idle.put_nowait(Connection(host, port, headers))
    queue = itertools.cycle(paths)

    async def one(scheduled: float, path: str) -> None:
        conn = await idle.get()
        try:
            status = await conn.get(path)
            if status == 200:
                result.latencies_ms.append(1000 * (time.perf_counter() - scheduled))
            else:
                result.errors += 1
        except (ConnectionError, asyncio.IncompleteReadError):
            result.errors += 1
            conn = Connection(host, port, headers)
        finally:
            idle.put_nowait(conn)

    t0 = time.perf_counter()
    tasks = []
    n = int(rate * seconds)
    for i in range(n):
        scheduled = t0 + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(scheduled, next(queue))))
    _, late = await asyncio.wait(tasks, timeout=seconds + 30) if tasks else (set(), set())
    for task in late:  # still unanswered 30 s after the last was sent: an overloaded rate, counted as errors
        task.cancel()
    result.errors += len(late)
    result.seconds = time.perf_counter() - t0
    while not idle.empty():
        await idle.get_nowait().close()
    return result


def closed_loop(
    host: str,
    port: int,
    headers: dict[str, str],
    paths: Sequence[str],
    connections: int,
    requests: int,
    limit_s: float = 60.0,
) -> LoadResult:
    """``requests`` GETs over ``connections`` keep-alive connections (at most ``limit_s`` seconds)."""
    return asyncio.run(_closed(host, port, headers, paths, connections, requests, limit_s))


def open_loop(
    host: str, port: int, headers: dict[str, str], paths: Sequence[str], rate: float, seconds: float, pool: int = 64
) -> LoadResult:
    """GETs scheduled at ``rate`` per second for ``seconds``, latency measured from the schedule."""
    return asyncio.run(_open(host, port, headers, paths, rate, seconds, pool))


def refine_rate(passes: Callable[[float], bool], passed: float, failed: float, steps: int = 3) -> float:
    """The highest rate seen to pass between ``passed`` (a rate that passed) and ``failed`` (a higher one that did
    not), by ``steps`` bisections, each one call of ``passes`` (e.g. an open-loop run): the answer is within
    ``(failed - passed) / 2**steps`` below the highest passing rate, where a coarse grid of rates only says "at least
    ``passed``"."""
    if not passed < failed:
        raise ValueError(f"need passed < failed, got {passed} and {failed}")
    for _ in range(steps):
        middle = (passed + failed) / 2
        if passes(middle):
            passed = middle
        else:
            failed = middle
    return passed
