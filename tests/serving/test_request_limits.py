"""Request limits before work, on a real uvicorn server (httptools) in this process: an oversized body is refused
with 413 before it is read, a write without a key with 401 before its body is read, and keys sent in a query string
never reach the access log."""

from __future__ import annotations

import logging
import selectors
import socket
import time
from collections.abc import Iterator

import pytest

from tests.serving.conftest import key
from tests.serving.live_uvicorn import uvicorn_in_thread

MB = 1 << 20
CHUNK = b"x" * (64 * 1024)


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture(scope="module")
def server(env) -> Iterator[tuple[int, _Capture]]:  # type: ignore[no-untyped-def]
    from serving.app import create_app

    app = create_app(env.settings)
    capture = _Capture()
    loggers = [logging.getLogger(n) for n in ("uvicorn.access", "uvicorn.error", "recsys", "")]
    with uvicorn_in_thread(app, log_level="info", access_log=True) as port:
        for logger in loggers:  # after uvicorn's Config: it configures (and so resets) its loggers' handlers
            logger.addHandler(capture)
        try:
            yield port, capture
        finally:
            for logger in loggers:
                logger.removeHandler(capture)


def _readable(sock: socket.socket) -> bool:
    """The server has answered (or closed): poll-based, so it works whatever the descriptor's number (``select``
    fails above 1023)."""
    with selectors.DefaultSelector() as selector:
        selector.register(sock, selectors.EVENT_READ)
        return bool(selector.select(timeout=0))


def _request(port: int, head: str, chunks: Iterator[bytes] = iter(()), chunked: bool = False) -> tuple[int, str, int]:
    """Send ``head`` then ``chunks`` until the server answers; (status, body, body bytes sent)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sent = 0
    try:
        sock.sendall(head.encode())
        sock.settimeout(2)
        for chunk in chunks:
            if _readable(sock):
                break  # answered: stop sending
            try:
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
            except (BrokenPipeError, ConnectionResetError, TimeoutError):
                break
            sent += len(chunk)
        else:
            if chunked:
                sock.sendall(b"0\r\n\r\n")
        sock.settimeout(10)
        data = b""
        while b"\r\n\r\n" not in data or len(data.split(b"\r\n\r\n", 1)[1]) < _length(data):
            try:
                part = sock.recv(65536)
            except ConnectionResetError:
                break
            if not part:
                break
            data += part
    finally:
        sock.close()
    status = int(data.split(b" ", 2)[1])
    return status, data.split(b"\r\n\r\n", 1)[1].decode(errors="replace"), sent


def _length(data: bytes) -> int:
    for line in data.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return int(line.split(b":", 1)[1])
    return 0


def _head(path: str, headers: dict[str, str]) -> str:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return "\r\n".join(lines) + "\r\n\r\n"


def _rss() -> int:
    import psutil

    return int(psutil.Process().memory_info().rss)


def _body(total: int) -> Iterator[bytes]:
    for _ in range(total // len(CHUNK)):
        yield CHUNK


def test_an_oversized_unauthenticated_body_is_refused_unread(server) -> None:  # type: ignore[no-untyped-def]
    port, _ = server
    _request(port, _head("/v1/events", {"Content-Length": "2"}), iter([b"{}"]))  # warm the path
    rss = _rss()
    started = time.perf_counter()
    status, body, sent = _request(port, _head("/v1/events", {"Content-Length": str(50 * MB)}), _body(50 * MB))
    elapsed = time.perf_counter() - started
    assert status == 413 and '"body_too_large"' in body
    assert sent < 10 * MB and elapsed < 5  # answered on the headers: the client stopped after a few chunks
    assert _rss() - rss < 8 * MB


def test_an_oversized_chunked_body_is_cut_at_the_limit(server, env) -> None:  # type: ignore[no-untyped-def]
    """A chunked body declares no length: it is counted while read, and refused once past the limit (4 MiB)."""
    port, _ = server
    rss = _rss()
    head = _head("/v1/events", {"Transfer-Encoding": "chunked", **key(env.world, "admin")})
    status, body, sent = _request(port, head, _body(50 * MB), chunked=True)
    assert status == 413 and '"body_too_large"' in body
    assert sent < 25 * MB
    assert _rss() - rss < 24 * MB


def test_a_write_without_a_key_is_refused_before_its_body_is_read(server, env) -> None:  # type: ignore[no-untyped-def]
    """The headers announce a normal batch, the body is never sent: the 401 comes anyway, so the body was not read
    and the handler (which needs it) never ran."""
    port, _ = server
    for headers in ({}, {"X-API-Key": "rk_000000000000.not-a-key"}):
        status, body, _ = _request(port, _head("/v1/events", {"Content-Length": "5000", **headers}))
        assert status == 401, body
        assert '"missing_api_key"' in body or '"invalid_api_key"' in body
    # with a key the same route reads the body and judges it (an empty batch: 422 naming body.events)
    status, body, _ = _request(
        port, _head("/v1/events", {"Content-Length": "13", **key(env.world, "admin")}), iter([b'{"events":[]}'])
    )
    assert status == 422 and '"events"' in body, body


def test_a_key_in_the_query_string_never_reaches_a_log(server, env) -> None:  # type: ignore[no-untyped-def]
    port, capture = server
    secret = env.world.keys["admin"]
    queries = [f"?api_key={secret}", f"?k=3&apikey={secret}", f"?X-API-Key={secret}", f"?key={secret}&token=t"]
    import httpx

    for query in queries:
        res = httpx.get(f"http://127.0.0.1:{port}/v1/rankings/top-creators{query}", headers=key(env.world, "admin"))
        assert res.status_code == 422  # a key is not a query parameter
        res = httpx.get(f"http://127.0.0.1:{port}/v1/rankings/top-creators{query}")
        assert res.status_code in (401, 422)  # only in the query: never accepted
    time.sleep(0.2)
    logged = "\n".join(capture.lines)
    assert "/v1/rankings/top-creators?" in logged and "[redacted]" in logged  # the requests were logged
    assert secret not in logged and secret.split(".", 1)[1] not in logged
