"""``recsys demo``: build the embedded demo (:mod:`recsys.app.demo`) on first use, then serve it."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from recsys.app.cli._app import app, console, fail

if TYPE_CHECKING:
    from models.matching.matcher import Matcher
    from recsys.app.demo import DemoKeys
    from recsys.core.config import Settings
    from recsys.core.store import Store


def serving_matcher(settings: Settings, store: Store) -> Matcher:
    """The matcher the service will answer with (what the demo builder picks its demo creator and merchant by)."""
    from serving.state import open_matcher_state

    return open_matcher_state(settings, store).matcher


def serving_workflows(settings: Settings, store: Store, merchant_id: str, creator_id: str) -> dict[str, object]:
    """Seed the demo's invitations and sample requests through the service's store functions."""
    from serving.demo_tasks import seed_demo_tasks
    from serving.demo_workflows import seed_demo_workflows

    seeded = seed_demo_workflows(settings, store, merchant_id, creator_id)
    return {**seeded, "tasks": seed_demo_tasks(settings, store, merchant_id, creator_id)}


def print_demo_banner(keys: DemoKeys, host: str, port: int, keys_path: str) -> None:
    url = f"http://{host}:{port}"
    lines = [
        f"service:  {url}    API docs: {url}/docs    readiness: {url}/readyz",
        f"web console: {url}/console/  (sign in with the merchant or the creator key below; the admin key for the "
        "model page)",
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
        keys = build_demo(settings, rebuild=rebuild, open_matcher=serving_matcher, seed_workflows=serving_workflows)
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
