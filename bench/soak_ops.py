"""What the soak mixes into the read traffic: reloads, plan edits, event batches, readiness checks and memory
samples — and the three injected faults (a worker killed, the store locked, a bundle file damaged).

Every operation appends one ``Op`` (when it was started, relative to the open loop's start; what; status or
client outcome; latency; a detail), so the report can say what each cost. All calls are bounded in time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psutil

from bench.soak_summary import MemorySample
from models.bundle import set_current

STORE_LOCK_S = 3.0
BUNDLE_DAMAGE_S = 5.0
RESTART_WAIT_S = 30.0


@dataclass
class Op:
    t: float
    name: str
    status: int | str
    latency_ms: float
    detail: str = ""


@dataclass
class Target:
    """The running service and what the operations need to know about it."""

    port: int
    server_pid: int
    keys: dict[str, str]
    db: Path
    artifacts: Path
    bundles: tuple[str, str]  # the original bundle and its twin (a copy under another run id): reloads alternate
    promotions: list[dict[str, Any]]  # templates for promotion events (existing creator, product, plan)
    merchant_products: list[str]
    log: Path  # the server's log: a restarted worker's "Application startup complete." is read from it


class Operations:
    def __init__(self, target: Target, t0: float, tag: str, reloads: int = 0) -> None:
        """``reloads``: swaps already made (by a warm-up), so the next reload still points at the other bundle."""
        self.target, self.t0, self.tag = target, t0, tag
        self.ops: list[Op] = []
        self.memory: list[MemorySample] = []
        self.load_averages: list[float] = []
        self.client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{target.port}", timeout=30.0)
        self._plans: list[str] = []
        self._counter = 0
        self._reloads = reloads

    @property
    def reloads(self) -> int:
        return self._reloads

    def now(self) -> float:
        return time.perf_counter() - self.t0

    async def close(self) -> None:
        await self.client.aclose()

    async def _call(self, name: str, method: str, path: str, key: str | None, **kwargs: Any) -> httpx.Response | None:
        headers = {"X-API-Key": self.target.keys[key]} if key else {}
        started = self.now()
        try:
            res = await self.client.request(method, path, headers=headers, **kwargs)
        except httpx.TimeoutException:
            self.ops.append(Op(started, name, "timeout", 1000 * (self.now() - started)))
            return None
        except httpx.HTTPError as exc:
            self.ops.append(Op(started, name, "conn_error", 1000 * (self.now() - started), type(exc).__name__))
            return None
        detail = "" if res.is_success else res.text[:160]
        self.ops.append(Op(started, name, res.status_code, 1000 * (self.now() - started), detail))
        return res

    # -- the mixed-in traffic ------------------------------------------------------------------------------------

    async def reload(self, switch: bool = True) -> None:
        """Point ``current`` at the other bundle (a real swap) and ``POST /v1/admin/reload``."""
        if switch:
            self._reloads += 1
            set_current(self.target.artifacts, self.target.bundles[self._reloads % 2])
        await self._call("reload", "POST", "/v1/admin/reload", "admin")

    async def plan_edit(self, name: str = "plan edit") -> None:
        """A new open plan by the demo merchant (ends by itself in 30 min), then a rate rise on the previous one."""
        self._counter += 1
        now = datetime.now(UTC).replace(tzinfo=None)
        plan_id = f"soak-{self.tag}-{self._counter}"
        body = {
            "plan_id": plan_id,
            "product_id": self.target.merchant_products[self._counter % len(self.target.merchant_products)],
            "plan_type": "open",
            "commission_rate": 0.2,
            "ends_at": (now + timedelta(minutes=30)).isoformat(),
        }
        res = await self._call(f"{name}: POST", "POST", "/v1/plans", "merchant", json=body)
        if res is not None and res.status_code == 201:
            self._plans.append(plan_id)
        if len(self._plans) >= 2:
            previous = self._plans[-2]
            rate = {"commission_rate": 0.2 + 0.001 * self._counter}
            await self._call(f"{name}: PATCH", "PATCH", f"/v1/plans/{previous}", "merchant", json=rate)

    async def events(self, name: str = "events", size: int = 20) -> None:
        """A batch of new promotion events (copies of existing promotions under new ids) with the admin key."""
        self._counter += 1
        started = datetime.now(UTC).replace(tzinfo=None).isoformat()
        batch = []
        for i in range(size):
            row = dict(self.target.promotions[(self._counter * size + i) % len(self.target.promotions)])
            row.update(promotion_id=f"soak-{self.tag}-{self._counter}-{i}", started_at=started)
            batch.append({"event_id": row["promotion_id"], "kind": "promotion", "data": row})
        res = await self._call(name, "POST", "/v1/events", "admin", json={"events": batch})
        if res is not None and res.is_success:
            body = res.json()
            self.ops[-1].detail = f"accepted {body['accepted']}, quarantined {body['quarantined']}"

    async def readyz(self, name: str = "readyz") -> None:
        await self._call(name, "GET", "/readyz", None, timeout=5.0)

    def sample_memory(self) -> None:
        self.load_averages.append(os.getloadavg()[0])  # other work on the machine shows in every latency
        try:
            server = psutil.Process(self.target.server_pid)
            procs = [server, *server.children(recursive=True)]
        except psutil.Error:
            return
        by_pid = {}
        for p in procs:
            with contextlib.suppress(psutil.Error):
                by_pid[p.pid] = p.memory_info().rss
        self.memory.append((self.now(), by_pid))

    # -- faults --------------------------------------------------------------------------------------------------

    def workers(self) -> list[int]:
        """PIDs of the worker processes (children of the server: forked by gunicorn, or spawned by uvicorn with
        ``serving.prefork = false``)."""
        found = []
        with contextlib.suppress(psutil.Error):
            for child in psutil.Process(self.target.server_pid).children():
                with contextlib.suppress(psutil.Error):
                    if "resource_tracker" not in " ".join(child.cmdline()):
                        found.append(child.pid)
        return found

    async def kill_worker(self) -> str:
        """SIGKILL one worker; wait (bounded) for the supervisor to start a new process, and for its app to start
        (its "Application startup complete." in the server's log)."""
        before = self.workers()
        if not before:
            return "no worker process found (single-process server?): nothing killed"
        victim = before[0]
        log_offset = self.target.log.stat().st_size
        started = self.now()
        os.kill(victim, signal.SIGKILL)
        self.ops.append(Op(started, "fault: worker killed", "SIGKILL", 0.0, f"pid {victim} of {before}"))
        spawned = ready = None
        while self.now() - started < RESTART_WAIT_S and ready is None:
            now = self.workers()
            if spawned is None and len(now) >= len(before) and victim not in now:
                spawned = self.now() - started
            if spawned is not None and _logged_since(self.target.log, log_offset, "Application startup complete"):
                ready = self.now() - started
            await asyncio.sleep(0.2)
        if spawned is None:
            return f"pid {victim} killed; NOT restarted within {RESTART_WAIT_S:g} s (workers now {self.workers()})"
        app = f"its app started after {ready:.1f} s" if ready is not None else "its app did not start in time"
        return f"pid {victim} killed; new worker process after {spawned:.1f} s, {app}"

    def _hold_lock(self, seconds: float) -> float:
        """Seconds the exclusive transaction was held (from the moment it was granted)."""
        conn = sqlite3.connect(self.target.db, timeout=10, isolation_level=None)
        try:
            conn.execute("BEGIN EXCLUSIVE")
            granted = time.perf_counter()
            time.sleep(seconds)
            conn.execute("ROLLBACK")
            return time.perf_counter() - granted
        finally:
            conn.close()

    async def lock_store(self) -> str:
        """Hold ``BEGIN EXCLUSIVE`` on the SQLite file for STORE_LOCK_S; a plan edit, an event batch and /readyz
        are sent meanwhile."""
        holder = asyncio.create_task(asyncio.to_thread(self._hold_lock, STORE_LOCK_S))
        await asyncio.sleep(0.3)
        await asyncio.gather(
            self.plan_edit("plan edit during store lock"),
            self.events("events during store lock"),
            self.readyz("readyz during store lock"),
        )
        held = await holder
        return f"BEGIN EXCLUSIVE held {held:.1f} s; a plan edit, an event batch and /readyz sent meanwhile"

    async def damage_bundle(self) -> str:
        """Truncate the largest file of the current bundle (0444: chmod first), reload (expect a refusal), check
        /readyz, then restore the bytes and reload again."""
        run_id = (self.target.artifacts / "current").read_text().strip()
        bundle = self.target.artifacts / run_id
        victim = max((p for p in bundle.rglob("*") if p.is_file() and p.name != "manifest.json"), key=_size)
        original, mode = victim.read_bytes(), victim.stat().st_mode & 0o777
        victim.chmod(0o644)
        try:
            with victim.open("r+b") as f:
                f.truncate(len(original) // 2)
            self.ops.append(Op(self.now(), "fault: bundle file truncated", "-", 0.0, str(victim.relative_to(bundle))))
            await self._call("reload of the damaged bundle", "POST", "/v1/admin/reload", "admin")
            for _ in range(3):
                await self.readyz("readyz with the bundle damaged")
                await asyncio.sleep(BUNDLE_DAMAGE_S / 3)
        finally:
            victim.write_bytes(original)
            victim.chmod(mode)
        await self._call("reload after the repair", "POST", "/v1/admin/reload", "admin")
        return f"{victim.relative_to(bundle)} truncated to half ({len(original)} bytes) for {BUNDLE_DAMAGE_S:g} s"


def _logged_since(log: Path, offset: int, text: str) -> bool:
    with log.open("rb") as f:
        f.seek(offset)
        return text.encode() in f.read()


def _size(path: Path) -> int:
    return path.stat().st_size


def promotion_templates(db: Path, n: int = 200) -> list[dict[str, Any]]:
    """Recent promotions of the store (their creator, product, plan and figures) to copy as new events."""
    cols = "creator_id, product_id, plan_id, format, views, likes, comments, shares, completion_rate, clicks, orders"
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        rows = conn.execute(f"SELECT {cols}, gmv, refunds FROM promotions ORDER BY started_at DESC LIMIT ?", (n,))
        names = [d[0] for d in rows.description]
        return [dict(zip(names, row, strict=True)) for row in rows.fetchall()]


def read_keys(data_dir: Path) -> dict[str, str]:
    keys = json.loads((data_dir / "demo_keys.json").read_text())
    return {k: keys[k] for k in ("admin", "merchant", "creator", "merchant_id", "creator_id")}
