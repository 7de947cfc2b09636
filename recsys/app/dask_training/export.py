"""``recsys export --partitioned DIR``: the store's tables as partitioned Parquet that Dask reads without one process
holding them.

Layout::

    DIR/partitioned.json                      how it was cut (buckets, revision, row counts)
    DIR/merchants.parquet ... plans.parquet   entity tables, one file each (small next to the logs)
    DIR/sample_requests.parquet               the sample requests' history, when there is any (creator features)
    DIR/promotions/bucket=NNN.parquet         promotions, by a stable hash of creator_id (one file per bucket)
    DIR/orders/month=YYYY-MM.parquet          orders, by the month they were created

Promotions are cut by a hash of ``creator_id``, not by date: training needs every promotion before each cutoff
(all dates), so date pruning would save nothing, whereas a creator's promotions all in one bucket make the
per-(creator, product) label sums and every creator-side aggregate partition-local (no shuffle). Orders are not
read by training; the month suits offline analysis and incremental copies. Rows are streamed out of the store in
chunks inside one read transaction (a consistent snapshot); each bucket file is appended to chunk by chunk, so no
table is ever held whole in memory.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa

from recsys.core.datasets.io import write_table
from recsys.core.datasets.samples import SAMPLE_REQUESTS_FILE, sample_requests_path
from recsys.core.progress import make_progress
from recsys.core.schema import (
    SA_TABLES,
    SAMPLE_REQUEST_COLUMNS,
    SAMPLE_REQUESTS,
    TABLES,
    TableSpec,
    sample_requests_frame,
)
from recsys.core.store import Store, records_to_frame

MANIFEST = "partitioned.json"
ENTITY_TABLES = ("merchants", "products", "creators", "plans")
DEFAULT_BUCKETS = 32
CHUNK_ROWS = 100_000
_ARROW_TYPES = {"str": pa.string(), "float": pa.float64(), "int": pa.int64(), "bool": pa.bool_()}


class PartitionedExportError(ValueError):
    """The target directory cannot take a partitioned export (it holds something else)."""


@dataclass(frozen=True)
class ExportSummary:
    """Rows and files written per table."""

    rows: dict[str, int]
    files: dict[str, int]
    revision: int


def arrow_schema(spec: TableSpec) -> pa.Schema:
    """The fixed Parquet schema of a log table (promotions, orders): every file of the table shares it."""
    fields = []
    for c in spec.columns:
        kind = pa.timestamp("us") if c.kind == "datetime" else _ARROW_TYPES[c.kind]
        fields.append(pa.field(c.name, kind))
    return pa.schema(fields)


def creator_bucket(creator_ids: pd.Series, buckets: int) -> pd.Series:
    """A stable bucket per creator id (pandas' fixed-key hash; the same on every machine and run)."""
    hashed = pd.util.hash_pandas_object(creator_ids.astype(str), index=False).to_numpy()
    return pd.Series(hashed % buckets, index=creator_ids.index)


def _chunks(store: Store, conn: sa.Connection, table: str, rows: int) -> Iterator[pd.DataFrame]:
    spec = TABLES[table]
    result = conn.execute(sa.select(*SA_TABLES[table].c)).mappings()
    while chunk := result.fetchmany(rows):
        yield records_to_frame(spec, [dict(r) for r in chunk])


class _Writers:
    """One appendable Parquet file per partition key of a table."""

    def __init__(self, folder: Path, schema: pa.Schema) -> None:
        self.folder, self.schema = folder, schema
        self.open: dict[str, pq.ParquetWriter] = {}

    def write(self, name: str, frame: pd.DataFrame) -> None:
        if name not in self.open:
            self.open[name] = pq.ParquetWriter(self.folder / f"{name}.parquet", self.schema, compression="zstd")
        table = pa.Table.from_pandas(frame.reset_index(drop=True), schema=self.schema, preserve_index=False)
        self.open[name].write_table(table)

    def close(self) -> int:
        for writer in self.open.values():
            writer.close()
        return len(self.open)


def _write_log(store: Store, conn: sa.Connection, directory: Path, table: str, buckets: int, progress: Any) -> int:
    folder = directory / table
    folder.mkdir(parents=True)
    writers = _Writers(folder, arrow_schema(TABLES[table]))
    task = progress.add_task(f"exporting {table}", total=store.count(table))
    try:
        for frame in _chunks(store, conn, table, CHUNK_ROWS):
            for key, part in frame.groupby(_cut_keys(table, frame, buckets).to_numpy(), sort=True):
                writers.write(str(key), part)
            progress.advance(task, len(frame))
    finally:
        files = writers.close()
    return _fill_buckets(folder, buckets) if table == "promotions" else files


def _cut_keys(table: str, frame: pd.DataFrame, buckets: int) -> pd.Series:
    if table == "promotions":
        return creator_bucket(frame["creator_id"], buckets).map(lambda b: f"bucket={b:03d}")
    return frame["created_at"].dt.strftime("month=%Y-%m")


def _fill_buckets(folder: Path, buckets: int) -> int:
    """Every promotions bucket exists (possibly empty) so readers see a fixed partition count."""
    for b in range(buckets):
        if not (folder / f"bucket={b:03d}.parquet").exists():
            pq.write_table(arrow_schema(TABLES["promotions"]).empty_table(), folder / f"bucket={b:03d}.parquet")
    return buckets


def partition_dataset(dataset: Path, directory: Path, buckets: int = DEFAULT_BUCKETS) -> ExportSummary:
    """The same layout from a dataset directory of Parquet files (no store), streamed by row group: how the scale
    benchmark prepares the Dask path's input. Rows are copied as they are (no validation: import them to check)."""
    directory = Path(directory)
    _prepare(directory)
    rows, files = {}, {}
    for name in ENTITY_TABLES:
        shutil.copyfile(Path(dataset) / f"{name}.parquet", directory / f"{name}.parquet")
        rows[name], files[name] = pq.ParquetFile(directory / f"{name}.parquet").metadata.num_rows, 1
    samples = sample_requests_path(Path(dataset))
    if samples is not None:
        shutil.copyfile(samples, directory / samples.name)
        count = len(pd.read_csv(samples)) if samples.suffix == ".csv" else pq.read_metadata(samples).num_rows
        rows[SAMPLE_REQUESTS_FILE], files[SAMPLE_REQUESTS_FILE] = count, 1
    for name in ("promotions", "orders"):
        folder = directory / name
        folder.mkdir(parents=True)
        writers, rows[name] = _Writers(folder, arrow_schema(TABLES[name])), 0
        source = Path(dataset) / f"{name}.parquet"
        if source.exists():
            for batch in pq.ParquetFile(source).iter_batches(batch_size=CHUNK_ROWS):
                frame = batch.to_pandas()
                for key, part in frame.groupby(_cut_keys(name, frame, buckets).to_numpy(), sort=True):
                    writers.write(str(key), part)
                rows[name] += len(frame)
        files[name] = writers.close()
        if name == "promotions":
            files[name] = _fill_buckets(folder, buckets)
    _write_manifest(directory, 0, rows, buckets)
    return ExportSummary(rows, files, 0)


def _write_manifest(directory: Path, revision: int, rows: dict[str, int], buckets: int) -> None:
    manifest = {
        "format": 1,
        "revision": revision,
        "rows": rows,
        "promotions": {"partitioned_by": "hash(creator_id)", "buckets": buckets},
        "orders": {"partitioned_by": "month(created_at)"},
    }
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2))


def _prepare(directory: Path) -> None:
    if directory.exists() and any(directory.iterdir()):
        if not (directory / MANIFEST).exists():
            raise PartitionedExportError(
                f"{directory} is not empty and holds no earlier partitioned export ({MANIFEST}); choose another "
                "directory"
            )
        shutil.rmtree(directory)
    directory.mkdir(parents=True, exist_ok=True)


def export_partitioned(store: Store, directory: Path, buckets: int = DEFAULT_BUCKETS) -> ExportSummary:
    """Write the store's tables as a partitioned directory (see the module docstring); an earlier partitioned
    export in ``directory`` is replaced, any other non-empty directory refused."""
    if buckets < 1:
        raise PartitionedExportError("--buckets must be at least 1")
    directory = Path(directory)
    _prepare(directory)
    rows, files = {}, {}
    with store.engine.connect() as conn, conn.begin(), make_progress() as progress:
        revision = store.current_revision()
        for name in ENTITY_TABLES:
            frame = store.read_table(name, conn)
            write_table(frame, directory, name)
            rows[name], files[name] = len(frame), 1
        samples = conn.execute(sa.select(*[SAMPLE_REQUESTS.c[c] for c in SAMPLE_REQUEST_COLUMNS])).mappings()
        frame = sample_requests_frame([dict(r) for r in samples])
        if len(frame):  # a creator feature reads them (features.samples); small next to the logs
            write_table(frame, directory, SAMPLE_REQUESTS_FILE)
            rows[SAMPLE_REQUESTS_FILE], files[SAMPLE_REQUESTS_FILE] = len(frame), 1
        for name in ("promotions", "orders"):
            files[name] = _write_log(store, conn, directory, name, buckets, progress)
            rows[name] = store.count(name)
    _write_manifest(directory, revision, rows, buckets)
    return ExportSummary(rows, files, revision)
