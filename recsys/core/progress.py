"""Progress bars for long work (generate, import, train, experiment, bench), all in one style."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

T = TypeVar("T")
_console = Console(stderr=True)


def make_progress(transient: bool = False) -> Progress:
    """A rich progress display writing to stderr (stdout stays clean for tables and keys)."""
    return Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=_console,
        transient=transient,
        disable=not _console.is_terminal or _console.is_jupyter,  # notebooks: no widget bars (no ipywidgets)
    )


@contextmanager
def stage(description: str) -> Iterator[None]:
    """A named step of long work shown as a spinner with elapsed time."""
    with make_progress(transient=False) as progress:
        task = progress.add_task(description, total=1)
        yield
        progress.update(task, completed=1)


def track(items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    """Iterate ``items`` with a progress bar."""
    with make_progress() as progress:
        yield from progress.track(items, total=total, description=description)
