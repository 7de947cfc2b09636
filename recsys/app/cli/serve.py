"""``recsys serve``: run the HTTP API (uvicorn on ``serving.app:create_app``)."""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import TYPE_CHECKING, Annotated

import typer

from recsys.app.cli._app import app

if TYPE_CHECKING:
    from recsys.core.config import Settings

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def run_server(settings: Settings, host: str, port: int, workers: int) -> None:
    """uvicorn (httptools, uvloop) on the app factory; several workers share Prometheus metrics via files and, with
    ``serving.prefork``, are forked from one process that loaded the service (serving/prefork.py)."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # one request = one thread; concurrency comes from workers
    own_dir = None
    if workers > 1 and not os.environ.get(MULTIPROC_ENV):
        own_dir = tempfile.mkdtemp(prefix="recsys-metrics-")
        os.environ[MULTIPROC_ENV] = own_dir
    try:
        if workers > 1 and settings.serving.prefork:
            from serving import prefork

            prefork.serve(settings, host, port, workers)
            return
        import uvicorn

        uvicorn.run(
            "serving.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            http="httptools",
            loop="uvloop",
            log_level=settings.serving.log_level,
        )
    finally:
        if own_dir is not None:
            shutil.rmtree(own_dir, ignore_errors=True)


@app.command("serve", epilog="Example: recsys serve --port 8000 --workers 2   (then open http://127.0.0.1:8000/docs)")
def serve_command(
    host: Annotated[str | None, typer.Option(help="Interface to bind \\[default: settings.serving.host].")] = None,
    port: Annotated[int | None, typer.Option(help="Port \\[default: settings.serving.port].", min=1, max=65535)] = None,
    workers: Annotated[
        int | None, typer.Option(help="Worker processes \\[default: settings.serving.workers].", min=1)
    ] = None,
) -> None:
    """Run the HTTP API (OpenAPI docs at /docs).

    The store and the current bundle open when the service starts; without a trained bundle it still starts,
    /readyz says why and recommendation endpoints answer 503 until `recsys train` and POST /v1/admin/reload.
    """
    from recsys.core.config import get_settings

    settings = get_settings()
    run_server(
        settings,
        host or settings.serving.host,
        port or settings.serving.port,
        workers or settings.serving.workers,
    )
