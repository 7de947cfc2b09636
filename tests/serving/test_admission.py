"""Admission control and keep-alive recycling (serving/admission.py) on a real uvicorn server in this process: a
worker over its bound of requests in flight answers 503 ``overloaded`` with Retry-After at once (probes exempt) and
takes requests again once one finishes; a keep-alive connection is closed after ``serving.keepalive_requests``."""

from __future__ import annotations

import http.client
import socket
import time
from collections.abc import Iterator

import pytest

from tests.serving.conftest import key
from tests.serving.live_uvicorn import uvicorn_in_thread


@pytest.fixture(scope="module")
def server(env) -> Iterator[int]:  # type: ignore[no-untyped-def]
    from serving.app import create_app

    serving = env.settings.serving.model_copy(update={"max_in_flight": 1, "keepalive_requests": 3})
    app = create_app(env.settings.model_copy(update={"serving": serving}))
    with uvicorn_in_thread(app, log_level="warning") as port:
        yield port


def _get(port: int, path: str, headers: dict[str, str] | None = None) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path, headers=headers or {})
    res = conn.getresponse()
    res.read()
    conn.close()
    return res


def _held_write(port: int, admin_key: str) -> socket.socket:
    """A POST whose body never finishes arriving: one request in flight in the worker until the socket closes."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    head = (
        "POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"X-API-Key: {admin_key}\r\nContent-Length: 1000\r\n\r\n"
    )
    sock.sendall(head.encode() + b'{"events": [')
    return sock


def test_a_worker_over_its_bound_answers_503_overloaded_then_recovers(server, env) -> None:  # type: ignore[no-untyped-def]
    w = env.world
    pool = f"/v1/creators/{w.creator}/products?k=5"
    creator = key(w, "creator")
    assert _get(server, pool, creator).status == 200
    held = _held_write(server, key(w, "admin")["X-API-Key"])
    try:
        for _ in range(200):  # until the server has read the held request's head (bounded; no timing asserted)
            res = _get(server, pool, creator)
            if res.status == 503:
                break
            time.sleep(0.05)
        assert res.status == 503
        assert res.getheader("Retry-After") == "1"
        body = http.client.HTTPConnection("127.0.0.1", server, timeout=30)
        body.request("GET", pool, headers=creator)
        answer = body.getresponse()
        error = answer.read().decode()
        body.close()
        assert answer.status == 503 and '"code":"overloaded"' in error and "serving.max_in_flight" in error
        assert _get(server, "/readyz").status == 200  # probes are never refused
        assert _get(server, "/healthz").status == 200
    finally:
        held.close()  # the held request ends (the client went away)
    for _ in range(200):
        res = _get(server, pool, creator)
        if res.status == 200:
            break
        time.sleep(0.05)
    assert res.status == 200


def test_a_keep_alive_connection_is_closed_after_its_request_budget(server) -> None:  # type: ignore[no-untyped-def]
    conn = http.client.HTTPConnection("127.0.0.1", server, timeout=30)
    closes = []
    for _ in range(3):
        conn.request("GET", "/healthz")
        res = conn.getresponse()
        res.read()
        assert res.status == 200
        closes.append(res.getheader("Connection"))
    conn.close()
    assert closes == [None, None, "close"]  # the third (serving.keepalive_requests = 3) tells the client to reconnect
