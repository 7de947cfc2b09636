"""The Dask cluster ``recsys train --engine dask`` runs on: ``--scheduler ADDRESS`` joins a running one, otherwise a
``distributed.LocalCluster`` is started for the run and closed after it.

Same conventions as ``recsys batch-recommend --engine dask`` (:mod:`recsys.app.batch_dask`): single-threaded worker
processes, one per core unless ``--workers`` says otherwise, no dashboard. Processes, not threads: LightGBM's
distributed training opens one network endpoint per worker and keeps its network state per process, so two
workers sharing a process cannot train together. Each local worker's memory limit is Dask's default (the machine's
memory divided among the workers), which makes Dask spill partitions to disk before a worker runs out.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from distributed import Client


@contextmanager
def dask_client(scheduler: str | None = None, workers: int | None = None) -> Iterator[Client]:
    """A client of the cluster at ``scheduler``, or of a local cluster of ``workers`` processes (None: one per
    core) started here and closed on exit."""
    from distributed import Client, LocalCluster

    if scheduler:
        client = Client(scheduler)
        try:
            yield client
        finally:
            client.close()
        return
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0")
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()
