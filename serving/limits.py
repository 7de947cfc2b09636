"""Request limits applied before any work: body size (413) and, for writes, the caller's key (401).

:class:`RequestLimits` is pure ASGI middleware, so nothing is parsed or buffered beyond the limit:

1. a declared ``Content-Length`` above ``serving.max_body_bytes`` answers 413 at once, unread;
2. a write (``POST``/``PUT``/``PATCH``/``DELETE`` under ``/v1/``) without an active key answers 401 before one byte of
   the body is read (FastAPI reads and parses the body *before* it resolves dependencies, so the route's own key
   check would come too late);
3. the body is then read here, counting bytes (a chunked body declares no length), and answered with 413 as soon
   as it passes the limit; a body within the limit is handed to the application unchanged.

The route still resolves its key (cached for 10 s, so the second lookup costs nothing) and applies the tenancy
rules; this only moves the cheap refusals in front of the expensive part.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serving.auth import KEY_HEADER, authenticate
from serving.errors import ApiError, error_response

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
KEYED_PREFIX = "/v1/"


async def _answer(scope: Scope, receive: Receive, send: Send, status: int, code: str, message: str) -> None:
    response = error_response(status, code, message)
    response.headers["Connection"] = "close"  # the unread rest of the body is not worth keeping the connection for
    await response(scope, receive, send)


class RequestLimits:
    """Body size and write authentication before the application sees the request (see the module docstring)."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    def _too_large(self) -> str:
        return f"the request body is larger than the limit of {self.max_body_bytes:,} bytes (serving.max_body_bytes)"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = headers.get("content-length")
        if declared is not None:
            try:
                too_large = int(declared) > self.max_body_bytes
            except ValueError:
                too_large = False  # the server (h11/httptools) refuses a malformed length before we get here
            if too_large:
                await _answer(scope, receive, send, 413, "body_too_large", self._too_large())
                return
        method = str(scope.get("method", "GET"))
        if method not in WRITE_METHODS:
            await self.app(scope, receive, send)
            return
        if str(scope.get("path", "")).startswith(KEYED_PREFIX):
            refused = await self._key_error(scope, headers)
            if refused is not None:
                await _answer(scope, receive, send, refused.status, refused.code, refused.message)
                return
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = bool(message.get("more_body", False))
            if len(body) > self.max_body_bytes:
                await _answer(scope, receive, send, 413, "body_too_large", self._too_large())
                return
        await self.app(scope, _replay(bytes(body), receive), send)

    async def _key_error(self, scope: Scope, headers: Headers) -> ApiError | None:
        """The route's own 401 (same code and message) when the write carries no active key, else None."""
        service: Any = getattr(getattr(scope.get("app"), "state", None), "service", None)
        if service is None:  # not started: let the application answer as it does
            return None
        try:
            await run_in_threadpool(authenticate, service.keys, headers.get(KEY_HEADER))
        except ApiError as exc:
            return exc
        except Exception:  # a store fault: the route meets it too, and its handlers answer 503
            return None
        return None


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands over ``body`` in one message, then waits on the real one (for a disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
