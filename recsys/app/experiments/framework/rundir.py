"""The on-disk format of one experiment run, ``runs/<run_id>/``: writing it and reading it back.

::

    config.json      resolved adapter config, seed, dataset, data dir + file hashes, git commit, versions
    metrics.json     per method: metrics, metrics_std, n_queries, per_query file; extra_metrics; published
    per_query/<slug>.parquet   one row per (seed, query) and method
    report.md + *.png          written by recsys.app.experiments.framework.report / plots

``metrics.json`` holds only what the experiment computed (no time stamps, no paths), so two runs with the same
seed and config have byte-identical ``metrics.json`` files.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from recsys.app.experiments.framework.base import ExperimentResult

CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.json"
PER_QUERY_DIR = "per_query"
REPORT_FILE = "report.md"


class RunDirError(FileNotFoundError):
    """A path that is not a readable run directory."""


class ResultError(ValueError):
    """An adapter's ExperimentResult that breaks the contract of ``base.py``."""


def method_slug(name: str) -> str:
    """A file-name-safe version of a method name (``"full pipeline"`` -> ``"full_pipeline"``)."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_.")
    return slug or "method"


def jsonable(value: Any) -> Any:
    """``value`` with numpy scalars/arrays made plain and NaN/inf replaced by ``None`` (strict JSON)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, Path):
        return str(value)
    return value


def dump_json(path: Path, document: dict[str, Any]) -> None:
    path.write_text(json.dumps(jsonable(document), indent=2, ensure_ascii=False, allow_nan=False) + "\n")


def validate_result(result: ExperimentResult) -> None:
    """Raise :class:`ResultError` naming method and field when a result breaks the base.py contract."""
    if not result.methods:
        raise ResultError(f"{result.dataset}: the experiment returned no methods")
    names = [m.name for m in result.methods]
    slugs = [method_slug(n) for n in names]
    if len(set(slugs)) != len(slugs):
        raise ResultError(f"{result.dataset}: method names must be distinct (as file names): {names}")
    for m in result.methods:
        if result.primary_metric not in m.metrics and not (m.part_only and m.metrics):
            raise ResultError(
                f"{result.dataset}: method {m.name!r} has no value for the primary metric "
                f"{result.primary_metric!r} (metrics: {sorted(m.metrics)}) and is not marked part_only"
            )
        if "query" not in m.per_query.columns:
            raise ResultError(f"{result.dataset}: method {m.name!r}: per_query has no 'query' column")
        if m.metrics_at_k is not None and not {"k", "metric", "value"} <= set(m.metrics_at_k.columns):
            raise ResultError(f"{result.dataset}: method {m.name!r}: metrics_at_k needs k, metric, value")
        if m.per_category is not None and "category" not in m.per_category.columns:
            raise ResultError(f"{result.dataset}: method {m.name!r}: per_category has no 'category' column")


def metrics_document(result: ExperimentResult) -> dict[str, Any]:
    """The content of ``metrics.json`` (deterministic given the result)."""
    published = None
    if result.published is not None:
        published = {
            str(method): {str(col): row[col] for col in result.published.columns if pd.notna(row[col])}
            for method, row in result.published.iterrows()
        }
    return {
        "dataset": result.dataset,
        "primary_metric": result.primary_metric,
        "protocol": result.protocol,
        "methods": {
            m.name: {
                "metrics": m.metrics,
                "metrics_std": m.metrics_std,
                "n_queries": len(m.per_query),
                "per_query": f"{PER_QUERY_DIR}/{method_slug(m.name)}.parquet",
            }
            for m in result.methods
        },
        "extra_metrics": result.extra_metrics,
        "published": published,
        "notes": result.notes,
    }


def write_per_query(run_dir: Path, result: ExperimentResult) -> None:
    out = run_dir / PER_QUERY_DIR
    out.mkdir(parents=True, exist_ok=True)
    for m in result.methods:
        frame = m.per_query.reset_index(drop=True)
        if frame["query"].dtype == object:  # mixed id types cannot be stored in one Parquet column
            frame = frame.assign(query=frame["query"].astype(str))
        frame.to_parquet(out / f"{method_slug(m.name)}.parquet", index=False)


@dataclass
class RunData:
    """A run read back from disk (what ``recsys compare`` works on)."""

    path: Path
    config: dict[str, Any]
    metrics: dict[str, Any]
    _per_query: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)

    @property
    def dataset(self) -> str:
        return str(self.metrics.get("dataset", self.config.get("dataset", "?")))

    @property
    def methods(self) -> list[str]:
        return list(self.metrics.get("methods", {}))

    @property
    def primary_metric(self) -> str | None:
        return self.metrics.get("primary_metric")

    def method_metrics(self, method: str) -> dict[str, float | None]:
        return dict(self.metrics["methods"][method].get("metrics", {}))

    def per_query(self, method: str) -> pd.DataFrame:
        """The method's per-query frame (read on first use)."""
        if method not in self._per_query:
            entry = self.metrics["methods"].get(method)
            if entry is None:
                raise KeyError(f"run {self.path} has no method {method!r}; it has {self.methods}")
            file = self.path / entry.get("per_query", f"{PER_QUERY_DIR}/{method_slug(method)}.parquet")
            if not file.is_file():
                raise RunDirError(f"run {self.path}: per-query file {file} of method {method!r} is missing")
            self._per_query[method] = pd.read_parquet(file)
        return self._per_query[method]


def load_run(path: Path | str) -> RunData:
    """Read ``config.json`` and ``metrics.json`` of a run directory; clear errors when it is not one."""
    run_dir = Path(path)
    if not run_dir.exists():
        raise RunDirError(f"run directory {run_dir} does not exist")
    if not run_dir.is_dir():
        raise RunDirError(f"{run_dir} is not a directory (expected runs/<run_id>/)")
    documents = {}
    for name in (METRICS_FILE, CONFIG_FILE):
        file = run_dir / name
        if not file.is_file():
            raise RunDirError(f"{run_dir} is not a run directory: {name} is missing")
        try:
            documents[name] = json.loads(file.read_text())
        except json.JSONDecodeError as exc:
            raise RunDirError(f"{file} is not valid JSON: {exc}") from exc
    return RunData(path=run_dir, config=documents[CONFIG_FILE], metrics=documents[METRICS_FILE])
