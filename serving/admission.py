"""Admission control and keep-alive recycling, per worker, before any work (pure ASGI middleware).

**Admission.** A worker that takes every request it is sent queues without bound when it is sent more than it can
do: every request waits behind all the others until clients time out, and the backlog outlives the burst (the soak
of issue 19 saw p50 climb to 10 s). :class:`Admission` counts the requests this worker has received and not yet
answered and answers a request beyond ``serving.max_in_flight`` with 503 ``overloaded`` and ``Retry-After``, in the
house error shape, without computing it, and closes the connection: a client (or a load balancer) retries later or
elsewhere, and the requests that were admitted keep their latency. The recommendation routes compute on the event
loop (``async``, no thread hop), so a request that has *entered* the application runs to its end before the next one
starts: counting only those would see one or two while dozens wait in the loop's queue. uvicorn starts one task per
request as soon as its headers are parsed, so the count is the number of those tasks
(``RequestResponseCycle.run_asgi``) alive in the loop — received, waiting or being computed; under another server
(or the test client) the requests that entered this middleware and are not finished. Health, readiness and metrics
probes are never refused (an overloaded worker is alive and ready, and must be seen so), nor are operator calls
under ``/v1/admin/`` (a reload must get through).

**Keep-alive recycling.** Workers share one listening socket, so the kernel balances *connections*, not requests:
a keep-alive connection stays with the worker that accepted it. When a worker is restarted, its clients reconnect to
the one left, and stay there — one worker carries everything for the rest of the run while the other idles. Like
nginx's ``keepalive_requests`` / ``keepalive_time``, a connection that has carried ``serving.keepalive_requests``
requests, or has been open ``serving.keepalive_seconds``, is answered with ``Connection: close`` (after a complete
response, so nothing is lost); its client reconnects and the next ``accept`` goes to whichever worker takes it
first — usually the less busy one. A connection is known by its client address (host, port), which is unique
while it is open; the table is bounded.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serving.errors import error_response

EXEMPT_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
EXEMPT_PREFIXES = ("/v1/admin/",)
MAX_TRACKED_CONNECTIONS = 8192


@dataclass
class _Seen:
    requests: int
    since: float


class ConnectionAges:
    """Requests and age of each open keep-alive connection of this worker, by client address."""

    def __init__(self, max_requests: int, max_seconds: float, capacity: int = MAX_TRACKED_CONNECTIONS) -> None:
        self.max_requests = max_requests
        self.max_seconds = max_seconds
        self.capacity = capacity
        self._seen: OrderedDict[tuple[str, int], _Seen] = OrderedDict()

    @property
    def enabled(self) -> bool:
        return self.max_requests > 0 or self.max_seconds > 0

    def should_close(self, client: tuple[str, int], now: float) -> bool:
        """Count one more request on ``client``'s connection; True when its answer should close it (the entry
        is then forgotten: the address may come back as a new connection)."""
        seen = self._seen.get(client)
        if seen is None:
            seen = self._seen[client] = _Seen(0, now)
            while len(self._seen) > self.capacity:
                self._seen.popitem(last=False)  # the oldest first: most likely closed by its client already
        seen.requests += 1
        spent = self.max_requests > 0 and seen.requests >= self.max_requests
        if spent or (self.max_seconds > 0 and now - seen.since >= self.max_seconds):
            del self._seen[client]
            return True
        return False


def received_requests() -> int:
    """Requests this worker's event loop holds (uvicorn's per-request tasks): received, queued or being computed."""
    count = 0
    for task in asyncio.all_tasks():
        name = getattr(task.get_coro(), "__qualname__", "")
        count += name.endswith("Cycle.run_asgi")
    return count


def _exempt(path: str) -> bool:
    return path in EXEMPT_PATHS or path.startswith(EXEMPT_PREFIXES)


class Admission:
    """Per worker: at most ``max_in_flight`` requests at once (503 ``overloaded`` beyond), and keep-alive
    connections recycled after ``keepalive_requests`` requests or ``keepalive_seconds`` (0 turns either off)."""

    def __init__(
        self,
        app: ASGIApp,
        max_in_flight: int,
        retry_after_s: int,
        keepalive_requests: int = 0,
        keepalive_seconds: float = 0.0,
    ) -> None:
        self.app = app
        self.max_in_flight = max_in_flight
        self.retry_after_s = retry_after_s
        self.connections = ConnectionAges(keepalive_requests, keepalive_seconds)
        self.in_flight = 0
        self.refused = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        close = (
            self.connections.enabled
            and client is not None
            and self.connections.should_close((str(client[0]), int(client[1])), time.monotonic())
        )
        if close:
            send = _closing(send)
        if self.max_in_flight > 0 and self._load() > self.max_in_flight and not _exempt(scope.get("path", "")):
            self.refused += 1
            # closed too: the client's retry reconnects, perhaps to a less busy worker (and an unread body is moot)
            await self._overloaded(scope, receive, send if close else _closing(send))
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1

    def _load(self) -> int:
        """Requests in this worker, this one included (see the module docstring)."""
        return max(self.in_flight + 1, received_requests())

    async def _overloaded(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = (
            f"this worker already holds {self.max_in_flight} requests (serving.max_in_flight); "
            f"retry after {self.retry_after_s} s"
        )
        response = error_response(503, "overloaded", message)
        response.headers["Retry-After"] = str(self.retry_after_s)
        await response(scope, receive, send)


def _closing(send: Send) -> Send:
    """``send`` whose response start carries ``Connection: close`` (the server closes after the whole answer)."""

    async def closing(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"connection"]
            message = {**message, "headers": [*headers, (b"connection", b"close")]}
        await send(message)

    return closing
