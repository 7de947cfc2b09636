"""Dataset name -> experiment adapter, imported lazily so that ``recsys --help`` never loads a dataset's code.

An adapter is any object (usually a module) with ``DATASET``, a pydantic ``Config`` and
``run(config, seed, data_dir) -> ExperimentResult`` (:class:`~recsys.app.experiments.framework.base.Adapter`).
Each dataset's adapter is the ``experiment`` module of its package (``demo`` is :mod:`recsys.app.experiments.toy`).
Tests and notebooks add their own adapters with :func:`register_adapter` / :func:`registered_adapter` instead of
patching this module.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from pydantic import BaseModel

from recsys.app.experiments.framework.base import Adapter


@dataclass(frozen=True)
class DatasetEntry:
    """Where a dataset's adapter lives and which shared-data folder it reads (hashed into the run)."""

    module: str
    data_subdir: str | None
    description: str


DATASETS: dict[str, DatasetEntry] = {
    "synthetic": DatasetEntry(
        "recsys.app.experiments.synthetic.experiment", None, "synthetic marketplace with known ground truth (oracle)"
    ),
    "amazon-beauty": DatasetEntry(
        "recsys.app.experiments.amazon_beauty.experiment",
        "amazon_beauty",
        "Amazon Beauty 5-core, leave-one-out, full rank",
    ),
    "ml-100k": DatasetEntry(
        "recsys.app.experiments.ml100k.experiment",
        "ml-100k",
        "MovieLens-100k, RecBole 80/10/10 random split, full ranking",
    ),
    "brand-influencer": DatasetEntry(
        "recsys.app.experiments.brand_influencer.experiment",
        "brand_influencer",
        "brands -> micro-influencers, brand-disjoint 5-fold CV",
    ),
    "demo": DatasetEntry(
        "recsys.app.experiments.toy", None, "framework demo: tiny seeded user-item problem (not a benchmark)"
    ),
}
PUBLIC_DATASETS: tuple[str, ...] = ("synthetic", "amazon-beauty", "ml-100k", "brand-influencer")

_overrides: dict[str, Adapter] = {}


class AdapterError(LookupError):
    """A dataset name without a usable adapter (unknown name, module not written yet, incomplete module)."""


def available_datasets() -> list[str]:
    """Every dataset name the runner accepts: the built-in ones, then registered overrides."""
    return [*DATASETS, *(name for name in _overrides if name not in DATASETS)]


def data_subdir(name: str) -> str | None:
    """The folder of the shared data this dataset reads, if any (used to fingerprint the data of a run)."""
    entry = DATASETS.get(name)
    return entry.data_subdir if entry and name not in _overrides else None


def register_adapter(name: str, adapter: Adapter) -> None:
    """Make ``name`` resolve to ``adapter`` (takes precedence over a built-in entry of the same name)."""
    _check_adapter(name, adapter, origin=repr(adapter))
    _overrides[name] = adapter


def unregister_adapter(name: str) -> None:
    """Remove an override added by :func:`register_adapter` (no-op if there is none)."""
    _overrides.pop(name, None)


@contextmanager
def registered_adapter(name: str, adapter: Adapter) -> Iterator[None]:
    """Register ``adapter`` as ``name`` inside a ``with`` block, then restore what was there before."""
    previous = _overrides.get(name)
    register_adapter(name, adapter)
    try:
        yield
    finally:
        if previous is None:
            unregister_adapter(name)
        else:
            _overrides[name] = previous


def get_adapter(name: str) -> Adapter:
    """The adapter for dataset ``name``, importing its module on first use.

    Raises :class:`AdapterError` naming the dataset and module when the name is unknown, the module does not
    exist (yet), or it lacks ``DATASET`` / ``Config`` / ``run``.
    """
    if name in _overrides:
        return _overrides[name]
    entry = DATASETS.get(name)
    if entry is None:
        raise AdapterError(f"unknown dataset {name!r}; choose one of: {', '.join(available_datasets())}")
    return load_adapter_module(name, entry.module)


def load_adapter_module(name: str, module_path: str) -> Adapter:
    """Import ``module_path`` as the adapter of dataset ``name`` and check it has the adapter surface."""
    try:
        module = importlib.import_module(module_path)
    except ModuleNotFoundError as exc:
        if exc.name == module_path:
            raise AdapterError(
                f"dataset {name!r} needs the adapter module {module_path} "
                f"({module_path.replace('.', '/')}.py), which does not exist in this checkout"
            ) from exc
        raise AdapterError(
            f"the adapter module {module_path} for dataset {name!r} failed to import: missing module {exc.name!r}"
        ) from exc
    _check_adapter(name, module, origin=module_path)
    return module


def _check_adapter(name: str, adapter: object, origin: str) -> None:
    missing = [attr for attr in ("DATASET", "Config", "run") if not hasattr(adapter, attr)]
    if missing:
        raise AdapterError(f"adapter {origin} for dataset {name!r} lacks {', '.join(missing)} (see framework/base.py)")
    config_cls = adapter.Config  # type: ignore[attr-defined]
    if not (isinstance(config_cls, type) and issubclass(config_cls, BaseModel)):
        raise AdapterError(f"adapter {origin} for dataset {name!r}: Config must subclass pydantic.BaseModel")
    if not callable(adapter.run):  # type: ignore[attr-defined]
        raise AdapterError(f"adapter {origin} for dataset {name!r}: run is not callable")
