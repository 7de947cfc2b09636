"""The PNG plots of a run: metric at k, per-category results, exposure across the long tail.

Figures are drawn with matplotlib's object API on the Agg canvas (no pyplot state, no GUI backend), so this
works the same in a terminal, in CI and inside a notebook kernel.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from recsys.app.experiments.framework.base import ExperimentResult
from recsys.core import metrics

METRIC_AT_K_FILE = "metric_at_k.png"
PER_CATEGORY_FILE = "per_category.png"
EXPOSURE_FILE = "exposure_long_tail.png"
_MAX_AT_K_PANELS = 4
_COUNT_COLUMNS = {"n", "n_queries", "count", "queries", "support"}


def _new_figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Figure, path: Path) -> Path:
    fig.savefig(path, format="png")
    return path


def _metric_name(metric: str) -> str:
    return metric.split("@", 1)[0]


def plot_metric_at_k(result: ExperimentResult, path: Path) -> Path | None:
    """One panel per metric family with at least two cut-offs (the primary metric's family first, at most 4),
    one line per method; None if no method has such ``metrics_at_k``."""
    frames = [m.metrics_at_k.assign(method=m.name) for m in result.methods if m.metrics_at_k is not None]
    frames = [f for f in frames if not f.empty]
    if not frames:
        return None
    data = pd.concat(frames, ignore_index=True)
    n_ks = data.groupby("metric")["k"].nunique()
    families = [f for f in dict.fromkeys(data["metric"]) if n_ks[f] > 1]  # one k is a point, not a curve
    if not families:
        return None
    primary = _metric_name(result.primary_metric)
    if primary in families:
        families.remove(primary)
        families.insert(0, primary)
    families = families[:_MAX_AT_K_PANELS]
    fig = _new_figure(4.2 * len(families), 3.6)
    axes = fig.subplots(1, len(families), squeeze=False)[0]
    for ax, family in zip(axes, families, strict=True):
        subset = data[data["metric"] == family]
        for method, rows in subset.groupby("method", sort=False):
            rows = rows.sort_values("k")
            ax.plot(rows["k"], rows["value"], marker="o", label=str(method))
        ax.set_xscale("log")
        ks = sorted(subset["k"].unique())
        ax.set_xticks(ks, [str(k) for k in ks])
        ax.minorticks_off()
        ax.set_xlabel("k (cut-off)")
        ax.set_title(f"{family}@k")
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel("mean over queries")
    axes[-1].legend(fontsize="small")
    fig.suptitle(f"{result.dataset}: metric at k")
    return _save(fig, path)


def _category_metric(result: ExperimentResult, frames: list[pd.DataFrame]) -> str | None:
    columns = [c for c in frames[0].columns if c != "category" and c not in _COUNT_COLUMNS]
    numeric = [c for c in columns if pd.api.types.is_numeric_dtype(frames[0][c])]
    if result.primary_metric in numeric:
        return result.primary_metric
    return numeric[0] if numeric else None


def plot_per_category(result: ExperimentResult, path: Path) -> Path | None:
    """Grouped horizontal bars: the primary metric (or the first metric column) per category and method."""
    with_cats = [m for m in result.methods if m.per_category is not None and not m.per_category.empty]
    if not with_cats:
        return None
    metric = _category_metric(result, [m.per_category for m in with_cats])  # type: ignore[misc]
    if metric is None:
        return None
    categories = list(dict.fromkeys(c for m in with_cats for c in m.per_category["category"]))  # type: ignore[index]
    fig = _new_figure(8.0, 1.0 + 0.45 * len(categories) * max(1, len(with_cats)) ** 0.5)
    ax = fig.subplots()
    height = 0.8 / len(with_cats)
    y = np.arange(len(categories))
    for i, m in enumerate(with_cats):
        values = m.per_category.set_index("category")[metric].reindex(categories)  # type: ignore[union-attr]
        ax.barh(y + i * height, values.to_numpy(dtype=float), height=height, label=m.name)
    ax.set_yticks(y + height * (len(with_cats) - 1) / 2, [str(c) for c in categories])
    ax.invert_yaxis()
    ax.set_xlabel(metric)
    ax.grid(True, axis="x", alpha=0.3)
    ax.legend(fontsize="small", loc="lower right")
    ax.set_title(f"{result.dataset}: {metric} per category")
    return _save(fig, path)


def plot_exposure(result: ExperimentResult, path: Path) -> Path | None:
    """Left: Lorenz curve of exposure per method (Gini in the legend). Right: exposure per item, items sorted
    from most to least exposed (log scale) — the long tail. None if no method reports exposure."""
    with_exposure = [m for m in result.methods if m.exposure is not None and np.asarray(m.exposure).size]
    if not with_exposure:
        return None
    fig = _new_figure(10.0, 4.0)
    lorenz_ax, tail_ax = fig.subplots(1, 2)
    lorenz_ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="equal exposure")
    for m in with_exposure:
        values = np.asarray(m.exposure, dtype=np.float64)
        x, y = metrics.lorenz_curve(values)
        lorenz_ax.plot(x, y, label=f"{m.name} (Gini {metrics.gini(values):.2f})")
        ordered = np.sort(values)[::-1]
        tail_ax.plot(np.arange(1, ordered.size + 1), np.maximum(ordered, 0.5), label=m.name)
    lorenz_ax.set_xlabel("share of items (least exposed first)")
    lorenz_ax.set_ylabel("share of exposure")
    lorenz_ax.set_title("Lorenz curve of exposure")
    lorenz_ax.legend(fontsize="small")
    lorenz_ax.grid(True, alpha=0.3)
    tail_ax.set_yscale("log")
    tail_ax.set_xlabel("item, most exposed first")
    tail_ax.set_ylabel("times in a top-k list (0 drawn at 0.5)")
    tail_ax.set_title("exposure across the catalogue")
    tail_ax.grid(True, alpha=0.3)
    fig.suptitle(f"{result.dataset}: exposure across the long tail")
    return _save(fig, path)


def write_plots(result: ExperimentResult, out_dir: Path) -> dict[str, str]:
    """Write every plot the result has data for; returns {title: file name relative to ``out_dir``}."""
    made: dict[str, str] = {}
    for title, file, draw in (
        ("Metric at k", METRIC_AT_K_FILE, plot_metric_at_k),
        ("Per category", PER_CATEGORY_FILE, plot_per_category),
        ("Exposure across the long tail", EXPOSURE_FILE, plot_exposure),
    ):
        if draw(result, out_dir / file) is not None:
            made[title] = file
    return made
