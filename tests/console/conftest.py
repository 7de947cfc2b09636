"""The console's test bed: the serving tests' golden store and keys (``tests.serving.conftest``), a real uvicorn
server on 127.0.0.1 (a free port) for the browser tests, and headless Debian Chromium driven by Playwright."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.serving.conftest import Env, app, client, copy_env, golden  # noqa: F401  (fixtures reused here)

CHROMIUM = Path(os.environ.get("RECSYS_CHROMIUM", "/usr/bin/chromium"))
NODE_MODULES = Path(__file__).resolve().parents[2] / "node_modules"
AXE = NODE_MODULES / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def env(golden: Env, tmp_path_factory: pytest.TempPathFactory) -> Env:  # noqa: F811
    return copy_env(golden, tmp_path_factory.mktemp("console_env"))


@dataclass(frozen=True)
class LiveServer:
    base_url: str
    port: int


@pytest.fixture(scope="module")
def live_server(env: Env) -> Iterator[LiveServer]:
    """The service under uvicorn on 127.0.0.1, on a port the OS picked, in a background thread."""
    import uvicorn

    from serving.app import create_app

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(env.settings), log_level="warning", lifespan="on")  # type: ignore[arg-type]
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the console test server did not start")
        time.sleep(0.05)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", port)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Headless Debian Chromium (``make setup`` installs it: scripts/ensure-chromium)."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make setup` (scripts/ensure-chromium installs Debian's chromium)")
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `make setup` (npm ci)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where every page's 1280×800 screenshot goes (printed; ``CONSOLE_SCREENSHOTS`` overrides)."""
    wanted = os.environ.get("CONSOLE_SCREENSHOTS")
    path = Path(wanted) if wanted else tmp_path_factory.mktemp("console_screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path
