"""``recsys serve`` as a real process on a free 127.0.0.1 port, with a test bed's settings (replicas on one store,
pre-forked workers)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

READY_WITHIN_S = 120.0  # a bound for a stuck start, not a speed target


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_environment(settings: Any, refresh_s: float, **extra: str) -> dict[str, str]:
    """The test bed's settings as ``RECSYS_*`` variables for a ``recsys serve`` process (``extra``: more of them)."""
    from recsys.core.config import Settings

    out = {k: v for k, v in os.environ.items() if not k.startswith("RECSYS_")}
    out.update(
        RECSYS_CONFIG=os.devnull,
        RECSYS_DATABASE_URL=settings.resolved_database_url,
        RECSYS_DATA_DIR=str(settings.data_dir),
        RECSYS_ARTIFACTS_DIR=str(settings.artifacts_dir),
        RECSYS_RUNS_DIR=str(settings.runs_dir),
        RECSYS_SERVING__REFRESH_SECONDS=str(refresh_s),
        RECSYS_SERVING__COMPILED_MODELS="false",
    )
    defaults = Settings()
    for section in ("retrieval", "ranker"):  # the fixture bundle's small settings, where they differ
        ours, theirs = getattr(settings, section), getattr(defaults, section)
        for name in type(ours).model_fields:
            if getattr(ours, name) != getattr(theirs, name):
                out[f"RECSYS_{section.upper()}__{name.upper()}"] = str(getattr(ours, name))
    out.update(extra)
    return out


@contextlib.contextmanager
def recsys_serve(environment: dict[str, str], log: Path, workers: int = 1) -> Iterator[tuple[str, subprocess.Popen]]:  # type: ignore[type-arg]
    """``recsys serve --workers N`` until the block ends (SIGTERM to its process group, then SIGKILL); yields its
    base URL once ``/readyz`` answers 200, and the process."""
    port = free_port()
    cmd = [sys.executable, "-m", "recsys", "serve", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("w") as out:
        proc = subprocess.Popen(
            [*cmd, "--workers", str(workers)], env=environment, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + READY_WITHIN_S
        while True:
            assert proc.poll() is None, log.read_text()[-3000:]
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.2)
        yield base, proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
