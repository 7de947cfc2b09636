"""The typer application and the console every command prints to.

Command modules (``recsys/app/cli/<group>.py``) register on :data:`app`; heavy libraries are imported inside the
command functions so that ``recsys --help`` stays instant.
"""

from __future__ import annotations

import typer
from rich.console import Console

app = typer.Typer(
    name="recsys",
    help=(
        "Creator–product matchmaking for CPS affiliate marketplaces.\n\n"
        "Typical flow: `recsys generate` (or bring your own data) -> `recsys import` -> `recsys train` -> "
        "`recsys serve`. `recsys demo` does all of it on a synthetic marketplace."
    ),
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_show_locals=False,
)
console = Console()
err_console = Console(stderr=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``message`` as an error and return the exit to raise: ``raise fail("...")``."""
    err_console.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)


@app.callback()
def _root() -> None:
    """Creator–product matchmaking for CPS affiliate marketplaces."""
