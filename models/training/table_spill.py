"""A training run's feature tables on disk: what lets the Dask path's driver and workers hold every cutoff's tables
without each keeping its own copy in memory.

At 5M promotions one cutoff's tables are ~0.9 GB (a bundle's ``features`` folder: 895 MB) and a run builds one per
training window (two by default), one for validation and one for now; the driver held them all and every worker a
copy of the training windows' (``client.scatter(..., broadcast=True)``), and at 20M that is ~14 GB on the driver
alone (four cutoffs, growing with the catalogue). With a spill directory each cutoff's tables are
written once (:meth:`FeatureTables.save`, the bundle's format) right after they are built and read back
memory-mapped: the driver keeps only their page-cache pages, which the kernel shares with the workers of the same
machine and can drop and re-read under pressure, and the workers receive a :class:`TablesOnDisk` (two paths)
instead of the arrays. The directory must be readable by every worker: local clusters use a temporary one next to
the store; a remote cluster needs shared storage (``recsys train --engine dask --spill-dir``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from features.tables import FeatureTables
from recsys.core.vocab import Vocabulary


@dataclass(frozen=True)
class TablesOnDisk:
    """Where one cutoff's tables were saved (``path``) and the directory whose id lists every cutoff of the run
    shares (``ids``: the first cutoff's), as sent to the workers."""

    path: str
    ids: str

    @classmethod
    def at(cls, spill: Path, k: int) -> TablesOnDisk:
        """Cutoff ``k``'s tables under the run's spill directory."""
        return cls(str(spill / f"cutoff-{k}"), str(spill / "cutoff-0"))

    def open(self) -> FeatureTables:
        """The tables, memory-mapped (opened once per process and path)."""
        return _open(self.path, self.ids)


@lru_cache(maxsize=2)
def _vocabularies(directory: str) -> tuple[Vocabulary, Vocabulary]:
    """The id lists a worker reads once for all the cutoffs of a run (they are the same at every cutoff)."""
    return FeatureTables.load_vocabularies(Path(directory))


@lru_cache(maxsize=8)
def _open(path: str, ids: str) -> FeatureTables:
    return FeatureTables.load(Path(path), mmap=True, vocabularies=_vocabularies(ids))


def forget() -> None:
    """Unmap every cutoff this process opened (run on the workers once training no longer reads them: a remote
    cluster's long-lived workers would otherwise keep the files' disk space after the spill directory is removed)."""
    _open.cache_clear()
    _vocabularies.cache_clear()


def spill_tables(
    tables: FeatureTables, spill: Path, k: int, vocabularies: tuple[Vocabulary, Vocabulary] | None = None
) -> FeatureTables:
    """Cutoff ``k``'s tables written under ``spill`` and read back memory-mapped, with ``vocabularies`` (the same ids
    as ``tables``', e.g. the first cutoff's, so the driver holds one copy of the ids for every cutoff; default:
    ``tables``' own); the caller drops ``tables``."""
    where = Path(TablesOnDisk.at(spill, k).path)
    tables.save(where)
    if vocabularies is None:
        vocabularies = (tables.creators, tables.products)
    elif not (
        vocabularies[0].index.equals(tables.creators.index) and vocabularies[1].index.equals(tables.products.index)
    ):
        raise ValueError(f"cutoff {k}'s tables do not have the ids of the vocabularies they were to share")
    return FeatureTables.load(where, mmap=True, vocabularies=vocabularies)
