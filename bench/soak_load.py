"""The soak's request traffic: keep-alive GETs over raw asyncio connections (cheap enough that the load generator
does not eat the server's cores), closed loop to measure capacity, open loop at a fixed rate for the soak.

Every request is bounded by ``REQUEST_TIMEOUT_S``; the open loop counts latency from the *scheduled* time (no
coordinated omission) and sheds (records ``"shed"``) rather than queue more than ``MAX_IN_FLIGHT`` requests.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Sequence

from bench import http_load
from bench.soak_summary import Record

REQUEST_TIMEOUT_S = 10.0
MAX_IN_FLIGHT = 2000


class Connection(http_load.Connection):
    """A keep-alive connection to 127.0.0.1 whose GETs are bounded in time and never raise."""

    def __init__(self, port: int, headers: dict[str, str]) -> None:
        super().__init__("127.0.0.1", port, headers)

    async def get(self, path: str) -> int | str:
        """The status code, or ``"timeout"`` / ``"conn_error"`` (the connection is then dropped)."""
        try:
            return await asyncio.wait_for(super().get(path), REQUEST_TIMEOUT_S)
        except TimeoutError:
            await self.close()
            return "timeout"
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError, IndexError):
            await self.close()
            return "conn_error"


async def closed_loop(
    port: int, headers: dict[str, str], paths: Sequence[str], connections: int, seconds: float
) -> tuple[float, list[Record]]:
    """``connections`` clients, each sending its next GET when the last one is answered, for ``seconds``.
    Returns the rate of 2xx answers per second and the records."""
    records: list[Record] = []
    queue = itertools.cycle(paths)
    t0 = time.perf_counter()
    deadline = t0 + seconds

    async def client() -> None:
        conn = Connection(port, headers)
        try:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                status = await conn.get(next(queue))
                records.append((started - t0, 1000 * (time.perf_counter() - started), status))
        finally:
            await conn.close()

    await asyncio.gather(*(client() for _ in range(connections)))
    elapsed = time.perf_counter() - t0
    ok = sum(1 for _, _, s in records if isinstance(s, int) and 200 <= s < 300)
    return ok / elapsed, records


async def open_loop(
    port: int,
    headers: dict[str, str],
    paths: Sequence[str],
    rate: float,
    t0: float,
    seconds: float,
    records: list[Record],
    pool: int = 64,
) -> None:
    """GETs scheduled at ``rate`` per second from ``t0`` (a ``time.perf_counter()`` value) for ``seconds``, each
    appended to ``records`` as it completes. Returns once every request has completed (or timed out)."""
    idle: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(pool):
        idle.put_nowait(Connection(port, headers))
    queue = itertools.cycle(paths)
    in_flight = [0]

    async def one(scheduled: float, path: str) -> None:
        try:
            conn = await asyncio.wait_for(idle.get(), REQUEST_TIMEOUT_S)
        except TimeoutError:
            records.append((scheduled - t0, 1000 * (time.perf_counter() - scheduled), "timeout"))
            in_flight[0] -= 1
            return
        try:
            status = await conn.get(path)
            records.append((scheduled - t0, 1000 * (time.perf_counter() - scheduled), status))
        finally:
            in_flight[0] -= 1
            idle.put_nowait(conn)

    tasks = set()
    for i in range(int(rate * seconds)):
        scheduled = t0 + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if in_flight[0] >= MAX_IN_FLIGHT:
            records.append((scheduled - t0, 0.0, "shed"))
            continue
        in_flight[0] += 1
        task = asyncio.create_task(one(scheduled, next(queue)))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.wait(tasks, timeout=2 * REQUEST_TIMEOUT_S + 5)
    for task in tasks:
        task.cancel()
    while not idle.empty():
        await idle.get_nowait().close()
