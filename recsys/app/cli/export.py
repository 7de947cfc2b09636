"""``recsys export --partitioned DIR``: the store as partitioned Parquet for ``recsys train --engine dask``.

The ``export`` command itself lives in :mod:`recsys.app.cli.data`; with ``--partitioned`` it hands over to
:func:`export_partitioned_command` (layout and partitioning: :mod:`recsys.app.dask_training.export`).
"""

from __future__ import annotations

import time
from pathlib import Path

from rich.table import Table

from recsys.app.cli._app import console, fail


def export_partitioned_command(directory: Path, buckets: int) -> None:
    """Stream every table of the store into ``directory`` as partitioned Parquet and print what was written."""
    from recsys.app.dask_training.export import PartitionedExportError, export_partitioned
    from recsys.core.config import Settings
    from recsys.core.store import Store

    started = time.perf_counter()
    store = Store.from_settings(Settings())
    try:
        summary = export_partitioned(store, directory, buckets)
    except PartitionedExportError as exc:
        raise fail(str(exc)) from exc
    finally:
        store.dispose()
    table = Table(title=f"partitioned export -> {directory} (revision {summary.revision})")
    table.add_column("table")
    table.add_column("partitioned by")
    table.add_column("files", justify="right")
    table.add_column("rows", justify="right")
    scheme = {"promotions": f"hash(creator_id) into {buckets} buckets", "orders": "month(created_at)"}
    for name, rows in summary.rows.items():
        table.add_row(name, scheme.get(name, "-"), str(summary.files[name]), f"{rows:,}")
    console.print(table)
    console.print(
        f"read it with `recsys train --engine dask --partitioned {directory}` ({time.perf_counter() - started:.1f}s)"
    )
