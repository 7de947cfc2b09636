"""``recsys import`` and ``recsys export``: dataset directories in and out of the store."""

from __future__ import annotations

import textwrap
import time
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.table import Table

from recsys.app.cli._app import app, console, fail

if TYPE_CHECKING:
    from recsys.core.datasets.importer import ImportReport

EXIT_QUARANTINED = 2


def _paragraphs(text: str) -> str:
    """Help text written as indented paragraphs -> one line per paragraph (rich wraps them itself)."""
    blocks = textwrap.dedent(text).strip().split("\n\n")
    return "\n\n".join(" ".join(line.strip() for line in block.splitlines()) for block in blocks)


class ExportFormat(StrEnum):
    parquet = "parquet"
    csv = "csv"


def _summary(report: ImportReport) -> Table:
    """One row per file read; counts are never cut short (each column is as wide as its widest figure)."""
    table = Table(title=f"import {report.directory}", box=box.SIMPLE_HEAD, show_footer=len(report.tables) > 1)
    counts = ("read", "inserted", "updated", "unchanged", "quarantined")
    table.add_column("file", no_wrap=True, footer="total")
    for name in counts:
        total = f"{sum(getattr(t, name) for t in report.tables.values()):,}"
        table.add_column(name, justify="right", no_wrap=True, min_width=max(len(name), len(total)), footer=total)
    for t in report.tables.values():
        cells = [f"{getattr(t, name):,}" for name in counts]
        if t.quarantined:
            cells[-1] = f"[bold red]{cells[-1]}[/]"
        table.add_row(t.file.name, *cells)
    return table


_IMPORT_HELP = _paragraphs(
    """
    Validate a dataset directory and import it into the store.

    Reads whichever of merchants, products, creators, plans, promotions and orders exist (<table>.csv or
    <table>.parquet) and checks every row: types, required fields, ranges, share groups, enums, plan and
    order rules, unique ids, references to the same import or the store. All good rows of all tables are
    upserted in ONE transaction: a crash leaves the store as it was, and importing the same directory twice
    changes nothing.

    Bad rows go to <quarantine_dir>/<table>.csv (next to the store) with every original field plus source_row
    and reason; each import rewrites the quarantine files of the tables it read.

    Exit codes: 0 nothing quarantined; 2 rows were quarantined (0 with --allow-quarantine); 1 fatal error
    (missing directory, unreadable file, missing required column; the store is untouched).
    """
)
_IMPORT_EXAMPLES = "\n\n".join(
    [
        "Examples:",
        "recsys generate --out /tmp/m --creators 2000 --products 10000 --seed 1 && recsys import /tmp/m",
        "recsys import data/my_marketplace --allow-quarantine",
        "RECSYS_DATABASE_URL=postgresql://user@host/recsys recsys import /tmp/m",
    ]
)


@app.command("import", help=_IMPORT_HELP, epilog=_IMPORT_EXAMPLES)
def import_command(
    directory: Annotated[Path, typer.Argument(help="Dataset directory: <table>.parquet or <table>.csv per table.")],
    allow_quarantine: Annotated[
        bool, typer.Option("--allow-quarantine", help="Exit 0 even when rows were quarantined.")
    ] = False,
) -> None:
    """Validate a dataset directory and import it into the store (see the help text above)."""
    from recsys.core.config import Settings
    from recsys.core.datasets.importer import import_dataset
    from recsys.core.datasets.validate import DatasetError
    from recsys.core.store import Store

    if not directory.is_dir():
        raise fail(f"dataset directory {directory} does not exist")
    settings = Settings()  # fields come from env / recsys.toml
    started = time.perf_counter()
    store = Store.from_settings(settings)
    try:
        report = import_dataset(store, directory, settings, progress=True)
    except DatasetError as exc:
        raise fail(str(exc)) from exc
    finally:
        store.dispose()
    console.print(_summary(report))
    for warning in report.warnings:
        console.print(f"[yellow]warning:[/] {warning}")
    for name, path in report.quarantine_files.items():
        console.print(f"[red]quarantined[/] {report.tables[name].quarantined:,} {name} rows -> {path}")
    elapsed = time.perf_counter() - started
    if report.revision is None:
        console.print(f"nothing changed in the store ({elapsed:.1f}s)")
    else:
        console.print(f"{report.changed:,} rows written as revision {report.revision} ({elapsed:.1f}s)")
    if report.quarantined and not allow_quarantine:
        console.print(
            f"[bold red]{report.quarantined:,} rows quarantined[/]: exit code {EXIT_QUARANTINED} "
            "(fix them and import again, or pass --allow-quarantine to accept)"
        )
        raise typer.Exit(EXIT_QUARANTINED)


_EXPORT_HELP = _paragraphs(
    """
    Export every table of the store as a dataset directory (one <table>.<format> file per table).

    The output imports back unchanged: importing an export into an empty store and exporting again gives the
    same data, and importing it into the same store changes nothing. CSV keeps lists as JSON arrays and
    datetimes as ISO 8601. A directory holding table files of the other format is refused.
    """
)
_EXPORT_EXAMPLES = "\n\n".join(
    [
        "Examples:",
        "recsys export /tmp/snapshot",
        "recsys export /tmp/snapshot_csv --format csv",
        "recsys export --partitioned /data/export --buckets 64",
    ]
)


@app.command("export", help=_EXPORT_HELP, epilog=_EXPORT_EXAMPLES)
def export_command(
    directory: Annotated[Path, typer.Argument(help="Directory to write (created if needed).")],
    fmt: Annotated[ExportFormat, typer.Option("--format", help="File format of the table files.")] = (
        ExportFormat.parquet
    ),
    partitioned: Annotated[
        bool, typer.Option("--partitioned", help="Partitioned Parquet for `recsys train --engine dask` instead.")
    ] = False,
    buckets: Annotated[int, typer.Option(min=1, help="Creator-hash buckets of promotions (--partitioned).")] = 32,
) -> None:
    """Export every table of the store as a dataset directory (see the help text above)."""
    if partitioned:
        from recsys.app.cli.export import export_partitioned_command

        export_partitioned_command(directory, buckets)
        return
    from recsys.core.config import Settings
    from recsys.core.datasets.importer import export_dataset
    from recsys.core.datasets.validate import DatasetError
    from recsys.core.progress import stage
    from recsys.core.store import Store

    settings = Settings()  # fields come from env / recsys.toml
    store = Store.from_settings(settings)
    try:
        with stage(f"exporting to {directory}"):
            paths = export_dataset(store, directory, fmt.value)
        counts = {name: store.count(name) for name in paths}
    except DatasetError as exc:
        raise fail(str(exc)) from exc
    finally:
        store.dispose()
    table = Table(title=f"export -> {directory}")
    table.add_column("table")
    table.add_column("file")
    table.add_column("rows", justify="right")
    for name, path in paths.items():
        table.add_row(name, path.name, f"{counts[name]:,}")
    console.print(table)
