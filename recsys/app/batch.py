"""``recsys batch-recommend``: every admitted query's default list, written as partitioned Parquet.

The output folder holds ``part-NNNNN.parquet`` files (one per chunk of query ids, rows in ``models.matching.batch``'s
schema) and, written last, ``_SUCCESS``: a JSON manifest (bundle run id, store revision, as-of time, counts,
engine, elapsed). Everything is written into a hidden temporary folder next to ``out`` and renamed into place at
the end, so a failed run leaves no output (readers see all of a run or none of it).

Engines: ``local`` scores chunks in this process; ``dask`` (``recsys.app.batch_dask``) on a Dask cluster whose
workers build the matcher once each. Both open the state with the ``open_state`` function they are given (the CLI
passes ``serving.offline_state.open_scoring_inputs``: the service's own assembly), so this module never imports
the serving layer.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

import pyarrow.parquet as pq

from models.bundle import current_bundle_dir
from models.matching.batch import BatchSide, ScoringInputs, admitted_ids, score_chunk, side_named
from recsys.core.config import Settings
from recsys.core.progress import make_progress
from recsys.core.store import now_utc

Engine = Literal["local", "dask"]
StateOpener = Callable[[Settings], ScoringInputs]
SUCCESS_FILE = "_SUCCESS"


class BatchError(Exception):
    """A batch run that cannot start or did not finish (its message says why; no output was left)."""


@dataclass(frozen=True)
class BatchOptions:
    """What to score and how. ``k`` defaults to the API's default page size (``serving.default_k``); ``chunk`` is
    the number of query ids per Parquet partition; ``workers`` the Dask workers of a local cluster (default: sized
    to the machine); ``processes=False`` runs them as threads of this process (tests)."""

    side: str
    out: Path
    engine: Engine = "local"
    k: int | None = None
    chunk: int = 500
    workers: int | None = None
    scheduler: str | None = None
    processes: bool = True
    overwrite: bool = False


@dataclass(frozen=True)
class RunInfo:
    """Which matcher a run scored with: the bundle's run id, the store revision and the as-of time."""

    run_id: str
    revision: int
    now: datetime


@dataclass
class PartResult:
    """What one partition's task reports back to the driver."""

    index: int
    queries: int
    queries_with_items: int
    rows: int
    revision: int


@dataclass
class Manifest:
    """The ``_SUCCESS`` file's content."""

    side: str
    query_column: str
    run_id: str
    store_revision: int
    as_of: str
    k: int
    engine: str
    workers: int
    partitions: int
    queries: int
    queries_with_items: int
    rows: int
    elapsed_seconds: float
    written_at: str
    store_revisions: list[int] = field(default_factory=list)


def partition_name(index: int) -> str:
    return f"part-{index:05d}.parquet"


def chunks(ids: Sequence[str], size: int) -> list[list[str]]:
    """``ids`` cut into consecutive chunks of ``size`` (the last one shorter)."""
    return [list(ids[i : i + size]) for i in range(0, len(ids), size)]


def write_partition(
    inputs: ScoringInputs, side: BatchSide, index: int, ids: Sequence[str], k: int, folder: Path
) -> PartResult:
    """Score ``ids`` and write their rows as ``folder/part-<index>.parquet``."""
    table = score_chunk(inputs.matcher, side, ids, k, inputs.fulfilment)
    pq.write_table(table, folder / partition_name(index))
    with_items = len(set(table.column(side.query_column).to_pylist()))
    return PartResult(index, len(ids), with_items, table.num_rows, inputs.revision)


def check_options(settings: Settings, options: BatchOptions) -> tuple[BatchSide, int]:
    """The side and list length, or a :class:`BatchError` naming the option and the reason; also refuses to
    start without a trained bundle or over an existing output folder."""
    try:
        side = side_named(options.side)
    except ValueError as exc:
        raise BatchError(str(exc)) from exc
    k = settings.serving.default_k if options.k is None else options.k
    if not 1 <= k <= settings.serving.max_k:
        raise BatchError(f"k: {k} is not between 1 and serving.max_k ({settings.serving.max_k})")
    if options.chunk < 1:
        raise BatchError(f"chunk: {options.chunk} is not a positive number of ids")
    if options.out.exists() and not options.overwrite:
        raise BatchError(f"out: {options.out} already exists (pass --overwrite to replace it)")
    try:
        current_bundle_dir(settings.artifacts_dir)
    except Exception as exc:
        raise BatchError(str(exc)) from exc
    return side, k


def _staging(out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    folder = out.parent / f".{out.name}.partial-{uuid.uuid4().hex[:8]}"
    folder.mkdir()
    return folder


def publish(staging: Path, out: Path) -> None:
    """Rename ``staging`` to ``out`` (replacing an old ``out`` only after the new one is complete)."""
    old = None
    if out.exists():
        old = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:8]}"
        os.replace(out, old)
    os.replace(staging, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def run_local(
    settings: Settings, side: BatchSide, k: int, options: BatchOptions, staging: Path, open_state: StateOpener
) -> tuple[RunInfo, list[PartResult], int]:
    """Score every admitted id in this process, chunk by chunk, with a progress bar."""
    inputs = open_state(settings)
    parts = chunks(admitted_ids(inputs.matcher, side), options.chunk) or [[]]  # an empty run: one empty partition
    results = []
    with make_progress() as progress:
        task = progress.add_task(f"scoring {side.name}", total=sum(len(p) for p in parts))
        for index, ids in enumerate(parts):
            results.append(write_partition(inputs, side, index, ids, k, staging))
            progress.advance(task, len(ids))
    return RunInfo(inputs.run_id, inputs.revision, inputs.now), results, 1


def run_batch(settings: Settings, options: BatchOptions, open_state: StateOpener) -> Manifest:
    """Run a batch scoring job end to end; returns the manifest written as ``out/_SUCCESS``.

    Raises :class:`BatchError` (or the engine's error) with no output left behind when the run fails."""
    side, k = check_options(settings, options)
    started = time.perf_counter()
    staging = _staging(options.out)
    try:
        if options.engine == "dask":
            from recsys.app.batch_dask import run_dask

            info, results, workers = run_dask(settings, side, k, options, staging, open_state)
        else:
            info, results, workers = run_local(settings, side, k, options, staging, open_state)
        manifest = _manifest(side, k, options.engine, workers, info, results, time.perf_counter() - started)
        (staging / SUCCESS_FILE).write_text(json.dumps(asdict(manifest), indent=2) + "\n")
        publish(staging, options.out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest


def _manifest(
    side: BatchSide,
    k: int,
    engine: str,
    workers: int,
    info: RunInfo,
    results: list[PartResult],
    elapsed: float,
) -> Manifest:
    return Manifest(
        side=side.name,
        query_column=side.query_column,
        run_id=info.run_id,
        store_revision=info.revision,
        as_of=_iso(info.now),
        k=k,
        engine=engine,
        workers=workers,
        partitions=len(results),
        queries=sum(r.queries for r in results),
        queries_with_items=sum(r.queries_with_items for r in results),
        rows=sum(r.rows for r in results),
        elapsed_seconds=round(elapsed, 3),
        written_at=_iso(now_utc()),
        store_revisions=sorted({r.revision for r in results} | {info.revision}),
    )


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def read_manifest(out: Path) -> dict[str, object]:
    """The ``_SUCCESS`` manifest of a finished run."""
    loaded: dict[str, object] = json.loads((out / SUCCESS_FILE).read_text())
    return loaded


def partitions(out: Path) -> Iterator[Path]:
    """The Parquet partitions of a finished run, in order."""
    yield from sorted(out.glob("part-*.parquet"))
