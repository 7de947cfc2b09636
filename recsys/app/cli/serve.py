"""``recsys serve``, ``recsys keys create|list|revoke`` and ``recsys demo``."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from typing import TYPE_CHECKING, Annotated

import typer

from recsys.app.cli._app import app, console, fail

if TYPE_CHECKING:
    from recsys.app.demo import DemoKeys
    from recsys.core.config import Settings

keys_app = typer.Typer(help="API keys for the service (stored hashed; a key is shown once).", no_args_is_help=True)
app.add_typer(keys_app, name="keys")

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def run_server(settings: Settings, host: str, port: int, workers: int) -> None:
    """uvicorn (httptools, uvloop) on the app factory; several workers share Prometheus metrics via files."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # one request = one thread; concurrency comes from workers
    own_dir = None
    if workers > 1 and not os.environ.get(MULTIPROC_ENV):
        own_dir = tempfile.mkdtemp(prefix="recsys-metrics-")
        os.environ[MULTIPROC_ENV] = own_dir
    import uvicorn

    try:
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


@keys_app.command("create", epilog="Example: recsys keys create --merchant m00003")
def keys_create(
    merchant: Annotated[str | None, typer.Option(help="Create a key for this merchant id.")] = None,
    creator: Annotated[str | None, typer.Option(help="Create a key for this creator id.")] = None,
    admin: Annotated[bool, typer.Option("--admin", help="Create an admin key (all endpoints).")] = False,
) -> None:
    """Create an API key; the key itself is printed on the LAST line (only its sha256 is stored).

    Exactly one of --merchant ID, --creator ID or --admin. The merchant or creator must exist in the store.
    """
    from recsys.core.config import get_settings
    from recsys.core.keys import UnknownTenant, create_key
    from recsys.core.store import Store

    chosen = [name for name, value in (("--merchant", merchant), ("--creator", creator), ("--admin", admin)) if value]
    if len(chosen) != 1:
        raise fail("give exactly one of --merchant ID, --creator ID or --admin")
    role, tenant = ("merchant", merchant) if merchant else ("creator", creator) if creator else ("admin", None)
    store = Store.from_settings(get_settings())
    try:
        key, token = create_key(store, role, tenant)
    except UnknownTenant as exc:
        raise fail(str(exc)) from exc
    finally:
        store.dispose()
    who = "admin" if tenant is None else f"{role} {tenant}"
    console.print(f"created key {key.key_id} for {who}; send it in the X-API-Key header. It is shown only once:")
    print(token)


@keys_app.command("list")
def keys_list() -> None:
    """Active keys: id, role, tenant and creation time (never the keys themselves)."""
    from rich.table import Table

    from recsys.core.config import get_settings
    from recsys.core.keys import list_keys
    from recsys.core.store import Store

    table = Table(title="active API keys")
    for col in ("key id", "role", "tenant", "created (UTC)"):
        table.add_column(col)
    for key in list_keys(Store.from_settings(get_settings())):
        table.add_row(key.key_id, key.role, key.tenant_id or "-", f"{key.created_at:%Y-%m-%d %H:%M:%S}")
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="The key id (`recsys keys list`).")]) -> None:
    """Revoke a key; the service stops accepting it within 10 seconds."""
    from recsys.core.config import get_settings
    from recsys.core.keys import revoke_key
    from recsys.core.store import Store

    if not revoke_key(Store.from_settings(get_settings()), key_id):
        raise fail(f"no active key {key_id!r}")
    console.print(f"revoked {key_id}")


def print_demo_banner(keys: DemoKeys, host: str, port: int, keys_path: str) -> None:
    url = f"http://{host}:{port}"
    lines = [
        f"service:  {url}    API docs: {url}/docs    readiness: {url}/readyz",
        f"demo keys (demo only; also in {keys_path}):",
        f"  admin                      {keys.admin}",
        f"  merchant {keys.merchant_id:<17} {keys.merchant}",
        f"  creator  {keys.creator_id:<17} {keys.creator}",
        "try:",
        f"  curl -s -H 'X-API-Key: {keys.creator}' '{url}/v1/creators/{keys.creator_id}/products?k=5'",
        f"  curl -s -H 'X-API-Key: {keys.merchant}' '{url}/v1/merchants/{keys.merchant_id}/creators?k=5'",
    ]
    console.rule("[bold]recsys-match demo")
    for line in lines:
        console.print(line, soft_wrap=True, highlight=False, markup=False)
    console.rule()


@app.command("demo", epilog="`make run` calls this. Example: recsys demo --port 8000")
def demo_command(
    host: Annotated[str | None, typer.Option(help="Interface to bind \\[default: settings.serving.host].")] = None,
    port: Annotated[int | None, typer.Option(help="Port \\[default: settings.serving.port].", min=1, max=65535)] = None,
    workers: Annotated[
        int | None, typer.Option(help="Worker processes \\[default: settings.serving.workers].", min=1)
    ] = None,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Start over: new data, store, model and keys.")] = False,
    build_only: Annotated[
        bool, typer.Option("--build-only", help="Build the demo, print the keys, do not serve.")
    ] = False,
) -> None:
    """Build the embedded demo on first use, then serve it.

    First run: generate a synthetic marketplace (settings.demo sizes) into <data_dir>/demo_dataset, import it into
    the store, train the models and create demo keys (kept in <data_dir>/demo_keys.json — demo only). Later runs
    reuse all of it and start in seconds; an interrupted build is finished by the next run.
    """
    from recsys.app.demo import DemoError, build_demo, keys_file
    from recsys.core.config import get_settings

    settings = get_settings()
    try:
        keys = build_demo(settings, rebuild=rebuild)
    except DemoError as exc:
        raise fail(str(exc)) from exc
    host, port = host or settings.serving.host, port or settings.serving.port
    print_demo_banner(keys, host, port, str(keys_file(settings)))
    if build_only:
        return
    # Serve from a fresh process: training initialised OpenMP with every core, serving wants one thread per request.
    sys.stdout.flush()
    argv = [sys.executable, "-m", "recsys", "serve", "--host", host, "--port", str(port)]
    argv += ["--workers", str(workers or settings.serving.workers)]
    os.execv(sys.executable, argv)
