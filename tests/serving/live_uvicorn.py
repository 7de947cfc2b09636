"""A real uvicorn server on a free 127.0.0.1 port, run in a thread of the test process (for tests that need real
sockets: request limits, admission control)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def uvicorn_in_thread(app: Any, **config: Any) -> Iterator[int]:
    """Serve ``app`` (uvicorn's ``config`` options added) until the block ends; yields the port."""
    import uvicorn

    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = int(probe.getsockname()[1])
    probe.close()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, http="httptools", **config))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not srv.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started, "the server did not start"
    try:
        yield port
    finally:
        srv.should_exit = True
        thread.join(30)
