"""The adapter contract: what an experiment adapter exposes and what it returns, so the runner can write runs,
reports and comparisons uniformly.

An adapter (``recsys/app/experiments/<dataset>/experiment.py``, registered by name in
:mod:`recsys.app.experiments.framework.registry`) exposes::

    DATASET: str                                   # e.g. "ml-100k"
    class Config(pydantic.BaseModel): ...          # typed, extra="forbid"; defaults = the documented protocol
    def run(config: Config, seed: int, data_dir: Path) -> ExperimentResult

``data_dir`` is the shared public data folder (``settings.shared_data_dir``); adapters only read from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd
from pydantic import BaseModel


@runtime_checkable
class Adapter(Protocol):
    """The surface the runner needs from a dataset adapter (usually a module)."""

    DATASET: str
    Config: type[BaseModel]

    def run(self, config: Any, seed: int, data_dir: Path) -> Any: ...


@dataclass
class MethodResult:
    """One method's results on one dataset (a baseline or the full pipeline).

    per_query : DataFrame with columns ``query`` (id), optional ``seed``, and one column per metric
        (e.g. ``ndcg@10``); one row per evaluated query (per seed). Paired bootstrap in ``recsys compare``
        resamples these rows by (seed, query).
    metrics : mean of each metric over queries (and, with several seeds, the mean of per-seed means).
    metrics_std : standard deviation across seeds of the per-seed means (empty with one seed).
    per_category : optional DataFrame with a ``category`` column and metric columns.
    exposure : optional exposure count per catalogue item in the method's top-k lists (Gini, long tail).
    part_only : why the method is scored on part of the protocol only (e.g. a variant that exists for the full
        catalogue alone); such a method may lack the primary metric, and its missing columns show as "—".
    """

    name: str
    metrics: dict[str, float]
    per_query: pd.DataFrame
    metrics_std: dict[str, float] = field(default_factory=dict)
    per_category: pd.DataFrame | None = None
    exposure: np.ndarray | None = None
    metrics_at_k: pd.DataFrame | None = None  # columns: k, metric, value ("metric at k" plots)
    part_only: str | None = None


@dataclass
class ExperimentResult:
    """Everything an experiment run produced, before it is written to ``runs/<run_id>/``."""

    dataset: str
    protocol: str  # one paragraph: split, candidates, masking, relevance
    methods: list[MethodResult]
    primary_metric: str  # e.g. "ndcg@10"; the first column of report tables
    published: pd.DataFrame | None = None  # index = method name, columns = metric names (same protocol)
    notes: list[str] = field(default_factory=list)
    extra_metrics: dict[str, float] = field(default_factory=dict)  # e.g. oracle ratios, index recall
    headline_method: str | None = None  # the method quoted against published results (default: best primary)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)  # more report sections: title -> table

    def method(self, name: str) -> MethodResult:
        for m in self.methods:
            if m.name == name:
                return m
        raise KeyError(f"no method {name!r}; have {[m.name for m in self.methods]}")
