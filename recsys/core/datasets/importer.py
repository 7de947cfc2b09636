"""Import a dataset directory into the store (validated, with quarantine); read one without a store; export.

``import_dataset`` reads whichever table files exist, validates them in load order, writes bad rows to
``<quarantine_dir>/<table>.csv`` and upserts every good row of every table in ONE transaction (one revision):
an exception anywhere leaves the store exactly as it was, and importing the same data again changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from rich.progress import Progress
from sqlalchemy.engine import Connection

from recsys.core.config import Settings
from recsys.core.datasets.io import FileFormat, read_table_file, table_files, write_dataset, write_table
from recsys.core.datasets.records import iter_records
from recsys.core.datasets.samples import (
    SAMPLE_REQUESTS_FILE,
    SAMPLE_REQUESTS_SPEC,
    read_sample_file,
    write_sample_requests,
)
from recsys.core.datasets.validate import (
    DatasetError,
    KnownIds,
    ValidationResult,
    Validator,
    missing_required_columns,
)
from recsys.core.progress import make_progress
from recsys.core.schema import SA_TABLES, TABLES, Marketplace, sample_requests_frame
from recsys.core.store import Store, records_to_frame

WRITE_CHUNK = 20_000


@dataclass
class TableReport:
    """What happened to one table file."""

    table: str
    file: Path
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0


@dataclass
class ImportReport:
    """Per-table counts, warnings and the quarantine files of one import."""

    directory: Path
    tables: dict[str, TableReport] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    quarantine_files: dict[str, Path] = field(default_factory=dict)
    revision: int | None = None  # the revision written, None when nothing changed

    @property
    def quarantined(self) -> int:
        return sum(t.quarantined for t in self.tables.values())

    @property
    def changed(self) -> int:
        return sum(t.inserted + t.updated for t in self.tables.values())


class StoreLookup:
    """Store look-ups for validation inside one connection: ``known_ids`` (callable) and ``plan_products``."""

    def __init__(self, store: Store, conn: Connection) -> None:
        self.store = store
        self.conn = conn

    def __call__(self, table: str, ids: set[str]) -> set[str]:
        return self.store.existing_ids(self.conn, table, ids)

    def plan_products(self, plan_ids: set[str]) -> dict[str, str]:
        plans = SA_TABLES["plans"]
        wanted = sorted(plan_ids)
        found: dict[str, str] = {}
        for start in range(0, len(wanted), 900):
            query = sa.select(plans.c.plan_id, plans.c.product_id).where(
                plans.c.plan_id.in_(wanted[start : start + 900])
            )
            found.update({str(p): str(q) for p, q in self.conn.execute(query)})
        return found


class _NothingChanged(Exception):
    """Raised inside the transaction to roll back the revision bump when no row changed."""


def _progress(enabled: bool) -> Progress:
    return make_progress() if enabled else Progress(disable=True)


def read_raw(directory: Path, progress: Progress | None = None) -> dict[str, tuple[Path, pd.DataFrame]]:
    """The table files of ``directory`` as read (CSV cells as strings), the optional ``sample_requests`` file
    included (``recsys.core.datasets.samples``).

    Raises :class:`DatasetError` for a missing directory, an unreadable file or a missing required column.
    """
    try:
        files = table_files(Path(directory))
    except (FileNotFoundError, ValueError) as exc:
        raise DatasetError(str(exc)) from exc
    if not files:
        names = ", ".join(f"{t}.csv|parquet" for t in TABLES)
        raise DatasetError(f"{directory} holds no table file (expected any of {names})")
    task = progress.add_task("reading", total=len(files)) if progress else None
    raw: dict[str, tuple[Path, pd.DataFrame]] = {}
    for name, path in files.items():
        try:
            frame = read_table_file(path)
        except Exception as exc:  # any parser error: the file cannot be read
            raise DatasetError(f"cannot read {path}: {exc}") from exc
        missing = missing_required_columns(name, [str(c) for c in frame.columns])
        if missing:
            raise DatasetError(f"{path}: missing required column(s) {', '.join(missing)}")
        raw[name] = (path, frame)
        if progress and task is not None:
            progress.advance(task)
    samples = read_sample_file(Path(directory))
    if samples is not None:
        raw[SAMPLE_REQUESTS_FILE] = samples
    return raw


def write_quarantine(result: ValidationResult, tables: list[str], quarantine_dir: Path) -> dict[str, Path]:
    """Rewrite ``<quarantine_dir>/<table>.csv`` for each of ``tables``: bad rows, or no file when none."""
    written: dict[str, Path] = {}
    for name in tables:
        bad = result.quarantined.get(name)
        path = quarantine_dir / f"{name}.csv"
        if bad is None or bad.empty:
            path.unlink(missing_ok=True)
            continue
        written[name] = write_table(bad, quarantine_dir, name, "csv")
    return written


def _count(conn: Connection, table: str) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(SA_TABLES[table])).scalar_one())


def _write(
    store: Store, conn: Connection, report: ImportReport, good: dict[str, pd.DataFrame], progress: Progress
) -> int:
    """Upsert every good row; returns the number of rows inserted or updated."""
    revision = store.next_revision(conn)
    for name, frame in good.items():
        counts = report.tables[name]
        task = progress.add_task(f"writing {name}", total=len(frame))
        before = _count(conn, name)
        written = 0
        for records in iter_records(TABLES[name], frame, WRITE_CHUNK):
            written += store.upsert(conn, name, records, revision)
            progress.advance(task, len(records))
        counts.inserted = _count(conn, name) - before
        counts.updated = written - counts.inserted
        counts.unchanged = len(frame) - written
    report.revision = revision
    return report.changed


def import_dataset(store: Store, directory: Path, settings: Settings, progress: bool = True) -> ImportReport:
    """Validate and import the table files of ``directory`` into ``store`` in one transaction.

    Bad rows are written to ``settings.quarantine_dir`` (see :func:`write_quarantine`); good rows of every
    table commit together. Raises :class:`DatasetError` (store untouched) when the directory or a file is
    unusable.
    """
    directory = Path(directory)
    report = ImportReport(directory=directory)
    with _progress(progress) as bar:
        raw = read_raw(directory, bar)
        report.tables = {name: TableReport(name, path, read=len(frame)) for name, (path, frame) in raw.items()}
        try:
            with store.transaction() as conn:
                lookup = StoreLookup(store, conn)
                validator = Validator(settings, lookup, lookup.plan_products)
                task = bar.add_task("validating", total=len(raw))
                for name in TABLES:
                    if name in raw:
                        validator.table(name, raw[name][1])
                        bar.advance(task)
                if SAMPLE_REQUESTS_FILE in raw:  # after the tables its rows reference
                    validator.table(SAMPLE_REQUESTS_FILE, raw[SAMPLE_REQUESTS_FILE][1], SAMPLE_REQUESTS_SPEC)
                result = validator.result
                report.warnings = list(result.warnings)
                for name, bad in result.quarantined.items():
                    report.tables[name].quarantined = len(bad)
                report.quarantine_files = write_quarantine(result, list(raw), settings.quarantine_dir)
                _write(store, conn, report, {n: f for n, f in result.good.items() if n in TABLES}, bar)
                if SAMPLE_REQUESTS_FILE in result.good and report.revision is not None:
                    counts = report.tables[SAMPLE_REQUESTS_FILE]
                    counts.inserted, counts.updated, counts.unchanged = write_sample_requests(
                        conn, result.good, report.revision
                    )
                if report.changed == 0:
                    raise _NothingChanged
        except _NothingChanged:
            report.revision = None
    return report


def read_dataset(
    directory: Path, settings: Settings, known_ids: KnownIds | None = None
) -> tuple[Marketplace, ValidationResult]:
    """Validate the files of ``directory`` without a store; references must resolve inside the directory, or
    through ``known_ids(table, ids)`` when given (rows kept elsewhere: a partitioned export's promotion buckets).

    Tables without a file are empty. Returns the marketplace of good rows and the full validation result.
    """
    raw = {name: frame for name, (_, frame) in read_raw(Path(directory)).items()}
    validator = Validator(settings, known_ids or (lambda _table, _ids: set()))
    for name in TABLES:  # each table's rows as read are dropped once validated (the typed rows are kept)
        if name in raw:
            validator.table(name, raw.pop(name))
    if SAMPLE_REQUESTS_FILE in raw:
        validator.table(SAMPLE_REQUESTS_FILE, raw.pop(SAMPLE_REQUESTS_FILE), SAMPLE_REQUESTS_SPEC)
    result = validator.result
    frames = {name: result.good.get(name, records_to_frame(TABLES[name], [])) for name in TABLES}
    samples = sample_requests_frame(result.good.get(SAMPLE_REQUESTS_FILE))
    return Marketplace(**frames, sample_requests=samples), result


def export_dataset(store: Store, directory: Path, fmt: FileFormat = "parquet") -> dict[str, Path]:
    """Write every table of ``store`` into ``directory`` as ``<table>.<fmt>``.

    Refuses (:class:`DatasetError`) when ``directory`` already holds a table file of the other format, since
    the directory would then name one table twice.
    """
    directory = Path(directory)
    other = "csv" if fmt == "parquet" else "parquet"
    clashes = [directory / f"{name}.{other}" for name in TABLES if (directory / f"{name}.{other}").exists()]
    if clashes:
        raise DatasetError(
            f"{directory} already holds {', '.join(p.name for p in clashes)}; "
            f"export {fmt} into another directory or remove those files"
        )
    return write_dataset(store.load_marketplace(), directory, fmt)
