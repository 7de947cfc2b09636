"""Compare two runs: per method and metric A, B, B−A, and a paired bootstrap 95% CI of the mean difference.

Queries are paired by (seed, query) when both runs have a ``seed`` column, else by query. The bootstrap
resamples the paired differences with replacement (``resamples`` times, seeded) and takes the percentile
interval of the resampled means.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from recsys.app.experiments.framework.rundir import RunData, load_run

_MAX_DRAWS_PER_CHUNK = 4_000_000  # bounds memory: chunk x n_queries indices at a time


class CompareError(ValueError):
    """Two runs that cannot be compared as asked (no common method, unknown method or metric)."""


@dataclass(frozen=True)
class BootstrapCI:
    """Mean of the paired differences (b − a) and its percentile bootstrap interval over ``n`` pairs."""

    mean_diff: float
    low: float
    high: float
    n: int


def paired_bootstrap_ci(
    a: Sequence[float] | np.ndarray,
    b: Sequence[float] | np.ndarray,
    resamples: int = 2000,
    seed: int = 0,
    confidence: float = 0.95,
) -> BootstrapCI:
    """Percentile bootstrap CI of mean(b − a) over paired observations (pairs with a NaN are dropped).

    a, b : arrays of shape (n_pairs,), element i of both belongs to the same query.
    Deterministic for a given ``seed``. With no pairs, everything is NaN and ``n`` is 0.
    """
    if resamples < 1:
        raise ValueError("resamples must be at least 1")
    if not 0 < confidence < 1:
        raise ValueError("confidence must be in (0, 1)")
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"a and b must be 1-d arrays of the same length, got {x.shape} and {y.shape}")
    diff = (y - x)[~(np.isnan(x) | np.isnan(y))]
    n = diff.size
    if n == 0:
        return BootstrapCI(math.nan, math.nan, math.nan, 0)
    rng = np.random.default_rng(seed)
    means = np.empty(resamples, dtype=np.float64)
    chunk = max(1, min(resamples, _MAX_DRAWS_PER_CHUNK // n))
    for start in range(0, resamples, chunk):
        size = min(chunk, resamples - start)
        idx = rng.integers(0, n, size=(size, n))
        means[start : start + size] = diff[idx].mean(axis=1)
    tail = (1 - confidence) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return BootstrapCI(float(diff.mean()), float(low), float(high), int(n))


@dataclass(frozen=True)
class MetricComparison:
    method: str  # run B's method
    metric: str
    a: float | None
    b: float | None
    ci: BootstrapCI | None  # None when the metric has no per-query values (e.g. coverage)
    baseline: str | None = None  # run A's method, when it is not ``method`` (``compare_runs(against=...)``)

    @property
    def diff(self) -> float | None:
        return None if self.a is None or self.b is None else self.b - self.a


@dataclass
class Comparison:
    run_a: RunData
    run_b: RunData
    rows: list[MetricComparison]
    warnings: list[str] = field(default_factory=list)
    config_diff: dict[str, tuple[Any, Any]] = field(default_factory=dict)


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    else:
        out[prefix] = value


def config_differences(run_a: RunData, run_b: RunData) -> dict[str, tuple[Any, Any]]:
    """Differences in dataset, seed and resolved adapter config: {key: (a, b)}."""
    flat_a: dict[str, Any] = {}
    flat_b: dict[str, Any] = {}
    for source, flat in ((run_a.config, flat_a), (run_b.config, flat_b)):
        _flatten("", {k: source.get(k) for k in ("dataset", "seed")}, flat)
        _flatten("config", source.get("config", {}), flat)
    keys = list(dict.fromkeys([*flat_a, *flat_b]))
    return {k: (flat_a.get(k), flat_b.get(k)) for k in keys if flat_a.get(k) != flat_b.get(k)}


def _pair_keys(frame_a: pd.DataFrame, frame_b: pd.DataFrame) -> list[str]:
    return ["seed", "query"] if "seed" in frame_a.columns and "seed" in frame_b.columns else ["query"]


def _normalised(frame: pd.DataFrame, keys: list[str], metric: str) -> pd.Series:
    cols = frame[[*keys, metric]].copy()
    cols["query"] = cols["query"].astype(str)
    if "seed" in keys:
        cols["seed"] = cols["seed"].astype(np.int64)
    return cols.groupby(keys)[metric].mean()


def paired_values(frame_a: pd.DataFrame, frame_b: pd.DataFrame, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """Values of ``metric`` for the (seed, query) keys present in both frames, aligned."""
    keys = _pair_keys(frame_a, frame_b)
    joined = pd.concat(
        [_normalised(frame_a, keys, metric).rename("a"), _normalised(frame_b, keys, metric).rename("b")],
        axis=1,
        join="inner",
    )
    return joined["a"].to_numpy(dtype=np.float64), joined["b"].to_numpy(dtype=np.float64)


def _metric_list(
    run_a: RunData, run_b: RunData, method_a: str, method_b: str, wanted: Sequence[str] | None
) -> list[str]:
    in_a, in_b = run_a.method_metrics(method_a), run_b.method_metrics(method_b)
    if wanted:
        return [m for m in wanted if m in in_a or m in in_b]
    common = [m for m in in_a if m in in_b]
    primary = run_a.primary_metric
    if primary in common:
        common.remove(primary)
        common.insert(0, primary)
    return common


def _check_method(name: str, label: str, run: RunData) -> None:
    if name not in run.methods:
        raise CompareError(f"method {name!r} is not in run {label} ({run.path}); it has {run.methods}")


def _pick_methods(
    run_a: RunData, run_b: RunData, methods: Sequence[str] | None, against: str | None
) -> list[tuple[str, str]]:
    """(A's method, B's method) pairs: each method with itself, or each of B's with A's ``against``."""
    if against is not None:
        _check_method(against, "A", run_a)
        for name in methods or []:
            _check_method(name, "B", run_b)
        chosen = list(methods) if methods else [m for m in run_b.methods if m != against]
        if not chosen:
            raise CompareError(f"run B has no method besides {against!r} to compare with it")
        return [(against, m) for m in chosen]
    if methods:
        for name in methods:
            _check_method(name, "A", run_a)
            _check_method(name, "B", run_b)
        return [(m, m) for m in methods]
    common = [m for m in run_a.methods if m in run_b.methods]
    if not common:
        raise CompareError(f"the runs have no method in common: A has {run_a.methods}, B has {run_b.methods}")
    return [(m, m) for m in common]


def _run_warnings(run_a: RunData, run_b: RunData) -> list[str]:
    warnings = []
    if run_a.dataset != run_b.dataset:
        warnings.append(f"different datasets: A is {run_a.dataset!r}, B is {run_b.dataset!r}")
    if run_a.metrics.get("protocol") != run_b.metrics.get("protocol"):
        warnings.append("different protocols: the runs describe their split/candidates/relevance differently")
    if run_a.primary_metric != run_b.primary_metric:
        warnings.append(f"different primary metrics: A {run_a.primary_metric!r}, B {run_b.primary_metric!r}")
    return warnings


def compare_runs(
    run_a: RunData | Path | str,
    run_b: RunData | Path | str,
    metrics: Sequence[str] | None = None,
    methods: Sequence[str] | None = None,
    resamples: int = 2000,
    seed: int = 0,
    against: str | None = None,
) -> Comparison:
    """Compare every method common to both runs (or ``methods``) on every common metric (or ``metrics``).

    ``against``: compare B's methods (all but ``against``, or ``methods``) with A's method ``against`` instead of
    each with itself; with one run as A and B, two methods of one run on the same queries (e.g. the pipeline
    against retrieval alone)."""
    a = run_a if isinstance(run_a, RunData) else load_run(run_a)
    b = run_b if isinstance(run_b, RunData) else load_run(run_b)
    comparison = Comparison(a, b, [], _run_warnings(a, b), config_differences(a, b))
    for base, method in _pick_methods(a, b, methods, against):
        frame_a, frame_b = a.per_query(base), b.per_query(method)
        if ("seed" in frame_a.columns) != ("seed" in frame_b.columns):
            comparison.warnings.append(
                f"{method}: only one run has a seed column; pairing by query over per-seed means"
            )
        for metric in _metric_list(a, b, base, method, metrics):
            ci = None
            if metric in frame_a.columns and metric in frame_b.columns:
                va, vb = paired_values(frame_a, frame_b, metric)
                ci = paired_bootstrap_ci(va, vb, resamples=resamples, seed=seed)
                n_a, n_b = frame_a[metric].notna().sum(), frame_b[metric].notna().sum()
                if ci.n == 0:
                    comparison.warnings.append(
                        f"{method} {metric}: no (seed, query) pair in common (different seeds or query "
                        "ids?); no confidence interval"
                    )
                elif ci.n < max(n_a, n_b):
                    comparison.warnings.append(
                        f"{method} {metric}: {ci.n} paired queries (A has {n_a}, B has {n_b}); the CI covers "
                        "only the pairs"
                    )
            value_a = a.method_metrics(base).get(metric)
            value_b = b.method_metrics(method).get(metric)
            baseline = base if base != method else None
            comparison.rows.append(MetricComparison(method, metric, value_a, value_b, ci, baseline))
    if metrics:
        found = {row.metric for row in comparison.rows}
        missing = [m for m in metrics if m not in found]
        if missing:
            raise CompareError(f"metric(s) {', '.join(missing)} are in neither run for the compared methods")
    return comparison


def _fmt(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:.4f}"


def comparison_frame(comparison: Comparison) -> pd.DataFrame:
    """The comparison as a table of strings: method, metric, A, B, B−A, 95% CI, pairs, and ``sig`` (↑/↓ when
    the interval excludes 0)."""
    rows = []
    for r in comparison.rows:
        ci = r.ci
        has_ci = ci is not None and ci.n > 0
        sig = ""
        if has_ci and ci is not None and (ci.low > 0 or ci.high < 0):
            sig = "↑" if ci.low > 0 else "↓"
        diff = r.diff
        rows.append(
            {
                "method": r.method if r.baseline is None else f"{r.method} (A: {r.baseline})",
                "metric": r.metric,
                "A": _fmt(r.a),
                "B": _fmt(r.b),
                "B−A": "—" if diff is None else f"{diff:+.4f}",
                "95% CI (paired)": f"[{ci.low:+.4f}, {ci.high:+.4f}]" if has_ci and ci is not None else "—",
                "pairs": str(ci.n) if ci is not None else "—",
                "sig": sig,
            }
        )
    columns = ["method", "metric", "A", "B", "B−A", "95% CI (paired)", "pairs", "sig"]
    return pd.DataFrame(rows, columns=columns)
