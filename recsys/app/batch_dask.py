"""The Dask engine of ``recsys batch-recommend``: query ids split into partitions, one task per partition.

The driver starts a ``distributed.LocalCluster`` (sized to the machine, or ``--workers``) or connects to
``--scheduler``. A first task opens the matcher on a worker and returns the admitted ids with the bundle's run id
and the store revision; the driver cuts the ids into partitions and maps :func:`score_partition` over them. Each
worker builds its matcher once — from the bundle files (memory-mapped, shared through the page cache) and the
store URL in the settings — and keeps it in a module-level memo keyed by bundle folder, store URL and revision,
so every further task on that worker only scores. Tasks write their Parquet partition themselves (the output
folder must be reachable by every worker: local disk for a local cluster, a shared file system otherwise) and
return counts; the driver only collects them.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from models.bundle import current_bundle_dir
from models.matching.batch import BatchSide, ScoringInputs, admitted_ids, side_named
from recsys.app.batch import BatchError, BatchOptions, PartResult, RunInfo, StateOpener, chunks, write_partition
from recsys.core.config import Settings
from recsys.core.progress import make_progress

if TYPE_CHECKING:
    from distributed import Client

_MEMO: dict[tuple[str, str, int], ScoringInputs] = {}
_MEMO_LOCK = threading.Lock()  # threads of one worker (or workers sharing a process) build the matcher once


@dataclass(frozen=True)
class Plan:
    """What the planning task reports: the run's bundle, store revision, as-of time and the admitted ids."""

    run_id: str
    revision: int
    ids: list[str]


def _key(settings: Settings, revision: int) -> tuple[str, str, int]:
    return str(current_bundle_dir(settings.artifacts_dir).resolve()), settings.resolved_database_url, revision


def worker_inputs(settings: Settings, open_state: StateOpener, revision: int | None = None) -> ScoringInputs:
    """This worker's matcher for the current bundle and the store at ``revision`` (None: whatever it is now),
    built on first use and kept (only the latest one: a worker serves one run at a time)."""
    with _MEMO_LOCK:
        if revision is not None and (memo := _MEMO.get(_key(settings, revision))) is not None:
            return memo
        inputs = open_state(settings)
        _MEMO.clear()
        _MEMO[_key(settings, revision if revision is not None else inputs.revision)] = inputs
        return inputs


def plan_run(settings: Settings, open_state: StateOpener, side_name: str) -> tuple[Plan, ScoringInputs]:
    """The planning task's work: open the matcher (kept for this worker's partitions) and list the admitted ids."""
    inputs = worker_inputs(settings, open_state)
    return Plan(inputs.run_id, inputs.revision, admitted_ids(inputs.matcher, side_named(side_name))), inputs


def _plan_task(settings: Settings, open_state: StateOpener, side_name: str) -> tuple[Plan, str]:
    plan, inputs = plan_run(settings, open_state, side_name)
    return plan, inputs.now.isoformat()


def score_partition(
    settings: Settings,
    open_state: StateOpener,
    side_name: str,
    plan: Plan,
    index: int,
    ids: list[str],
    k: int,
    folder: str,
) -> PartResult:
    """One partition's task: this worker's matcher (built once), the partition's rows written as Parquet."""
    inputs = worker_inputs(settings, open_state, plan.revision)
    if inputs.run_id != plan.run_id:
        raise BatchError(f"the current bundle changed during the run ({plan.run_id} -> {inputs.run_id}); run it again")
    return write_partition(inputs, side_named(side_name), index, ids, k, Path(folder))


def _client(options: BatchOptions) -> Client:
    from distributed import Client, LocalCluster

    if options.scheduler:
        return Client(options.scheduler)
    cluster = LocalCluster(
        n_workers=options.workers,  # None: one single-threaded worker per core
        threads_per_worker=1,
        processes=options.processes,
        dashboard_address=":0",
    )
    return Client(cluster)


def _close(client: Client, options: BatchOptions) -> None:
    cluster = client.cluster if not options.scheduler else None
    client.close()
    if cluster is not None:
        cluster.close()


def run_dask(
    settings: Settings, side: BatchSide, k: int, options: BatchOptions, staging: Path, open_state: StateOpener
) -> tuple[RunInfo, list[PartResult], int]:
    """Score every admitted id on a Dask cluster; returns the run's bundle, revision and as-of time as the planning
    task saw them (the driver never loads the model), the partitions' results and the number of workers."""
    from distributed import as_completed

    client = _client(options)
    try:
        workers = len(client.scheduler_info()["workers"])
        plan, as_of = client.submit(_plan_task, settings, open_state, side.name, pure=False).result()
        size = max(1, min(options.chunk, math.ceil(len(plan.ids) / max(4 * workers, 1))))
        parts = chunks(plan.ids, size) or [[]]  # an empty run still writes one (empty) partition
        futures = [
            client.submit(score_partition, settings, open_state, side.name, plan, i, ids, k, str(staging), pure=False)
            for i, ids in enumerate(parts)
        ]
        results: list[PartResult] = []
        with make_progress() as progress:
            task = progress.add_task(f"scoring {side.name} on {workers} Dask workers", total=len(plan.ids))
            for future in as_completed(futures):
                result: PartResult = future.result()
                results.append(result)
                progress.advance(task, result.queries)
    finally:
        _close(client, options)
    info = RunInfo(plan.run_id, plan.revision, datetime.fromisoformat(as_of))
    return info, sorted(results, key=lambda r: r.index), workers
