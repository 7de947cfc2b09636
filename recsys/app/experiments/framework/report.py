"""Tables and the ``report.md`` of a run, built from an :class:`ExperimentResult` (plots: ``plots.py``).

The same tables go to the console (rich) and to the report, so what a user sees in the terminal is what the
report says.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from rich.console import Console
from rich.table import Table

from recsys.app.experiments.framework.base import ExperimentResult, MethodResult

_AT_K = re.compile(r"@(\d+)$")
_NUMERIC_CELL = re.compile(r"^([-+\[—↑↓]|\d|$)")  # numbers, intervals, dashes, arrows: right-aligned


def format_value(mean: float | None, std: float | None = None) -> str:
    """``0.1234`` or ``0.1234 ± 0.0056``; missing/NaN -> an em dash. Large values (counts, MedR) get fewer
    decimals."""
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "—"
    text = f"{mean:.4f}" if abs(mean) < 100 else f"{mean:.1f}"
    if std is not None and not math.isnan(std):
        text += f" ± {std:.4f}" if abs(mean) < 100 else f" ± {std:.1f}"
    return text


def metric_order(result: ExperimentResult) -> list[str]:
    """Every metric any method reports, the primary metric first, then in order of first appearance."""
    names = list(dict.fromkeys(name for m in result.methods for name in m.metrics))
    names.remove(result.primary_metric)
    return [result.primary_metric, *names]


def headline_metrics(result: ExperimentResult) -> list[str]:
    """The metrics of the main table: the primary metric, metrics at the primary metric's cut-off, metrics
    without a cut-off, and any metric the published table reports."""
    primary_k = _AT_K.search(result.primary_metric)
    published = {c.lower() for c in result.published.columns} if result.published is not None else set()
    chosen = []
    for name in metric_order(result):
        k = _AT_K.search(name)
        if (
            name == result.primary_metric
            or k is None
            or (primary_k is not None and k.group(1) == primary_k.group(1))
            or name.lower() in published
        ):
            chosen.append(name)
    return chosen


def results_frame(result: ExperimentResult, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """A table of strings: one row per method, one column per metric (mean ± std when several seeds), plus the
    number of evaluated per-query rows."""
    cols = list(columns) if columns is not None else headline_metrics(result)
    rows = {}
    for m in result.methods:
        row = {c: format_value(m.metrics.get(c), m.metrics_std.get(c)) for c in cols}
        row["queries"] = str(len(m.per_query))
        rows[m.name] = row
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=[*cols, "queries"])
    frame.index.name = "method"
    return frame


def best_method(result: ExperimentResult) -> MethodResult:
    """The headline method if the adapter names one, else the method with the highest primary metric, ignoring
    oracles (an upper bound, not a method)."""
    if result.headline_method is not None:
        return result.method(result.headline_method)
    candidates = [m for m in result.methods if "oracle" not in m.name.lower()] or result.methods

    def key(m: MethodResult) -> float:
        value = m.metrics.get(result.primary_metric, float("nan"))
        return -math.inf if math.isnan(value) else value

    return max(candidates, key=key)


def published_frame(result: ExperimentResult) -> pd.DataFrame | None:
    """The published table with our best method appended as the last row (same protocol, same metric names;
    a published column we do not compute shows an em dash)."""
    if result.published is None or result.published.empty:
        return None
    best = best_method(result)
    ours_by_lower = {k.lower(): k for k in best.metrics}
    rows: dict[str, dict[str, str]] = {}
    for method, values in result.published.iterrows():
        rows[f"{method} (published)"] = {
            str(c): format_value(None if pd.isna(values[c]) else float(values[c])) for c in result.published.columns
        }
    ours = {}
    for c in result.published.columns:
        key = ours_by_lower.get(str(c).lower())
        ours[str(c)] = format_value(best.metrics.get(key) if key else None, best.metrics_std.get(key or ""))
    rows[f"ours: {best.name} (this run)"] = ours
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=[str(c) for c in result.published.columns])
    frame.index.name = "method"
    return frame


def markdown_table(frame: pd.DataFrame) -> str:
    """A GitHub-flavoured markdown table of a frame of strings (index as the first column)."""
    header = [str(frame.index.name or ""), *map(str, frame.columns)]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for index, row in frame.iterrows():
        cells = [str(index), *(str(v).replace("|", "\\|") for v in row)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _column_widths(frame: pd.DataFrame) -> list[int]:
    header = [str(frame.index.name or ""), *map(str, frame.columns)]
    cells = [[str(i) for i in frame.index], *([str(v) for v in frame[c]] for c in frame.columns)]
    return [max([len(h), *map(len, col)]) for h, col in zip(header, cells, strict=True)]


def rich_table(frame: pd.DataFrame, title: str | None = None) -> Table:
    """The same table for the console; columns never truncate a number."""
    widths = _column_widths(frame)
    table = Table(title=title, show_lines=False)
    table.add_column(str(frame.index.name or ""), style="bold", no_wrap=True, min_width=widths[0])
    for col, width in zip(frame.columns, widths[1:], strict=True):
        numeric = all(_NUMERIC_CELL.match(str(v)) for v in frame[col])
        table.add_column(str(col), justify="right" if numeric else "left", no_wrap=True, min_width=width)
    for index, row in frame.iterrows():
        table.add_row(str(index), *(str(v) for v in row))
    return table


def print_frame(console: Console, frame: pd.DataFrame, title: str | None = None) -> None:
    """Print ``frame`` as a rich table, wider than the console if it must be (numbers are never cut)."""
    needed = sum(_column_widths(frame)) + 3 * (len(frame.columns) + 1) + 1
    # Console.print caps its ``width`` argument at the console's width: widen the console itself for the table.
    width = console.width
    console.width = max(width, needed)
    try:
        console.print(rich_table(frame, title), crop=False)
    finally:
        console.width = width


def _seed_note(result: ExperimentResult) -> str:
    n_seeds = max((m.per_query["seed"].nunique() for m in result.methods if "seed" in m.per_query), default=1)
    if n_seeds > 1:
        return f"Mean ± standard deviation (ddof=1) of the per-seed means over {n_seeds} seeds."
    return "One seed: means over queries."


def render_report(result: ExperimentResult, meta: Mapping[str, Any], plots: Mapping[str, str]) -> str:
    """The markdown of ``report.md``. ``meta`` holds run_id, seed, created_utc, git commit/dirty and the
    command to reproduce; ``plots`` maps a title to a PNG file next to the report."""
    git = meta.get("git") or {}
    commit = (git.get("commit") or "unknown")[:12] + (" (uncommitted changes)" if git.get("dirty") else "")
    lines = [
        f"# {result.dataset}: experiment {meta['run_id']}",
        "",
        f"- seed: {meta['seed']} · git commit: {commit} · created: {meta.get('created_utc', '?')} UTC",
        f"- reproduce: `{meta.get('command', '')}`",
        "",
        "## Protocol",
        "",
        result.protocol,
        "",
        "## Results",
        "",
        f"Primary metric: **{result.primary_metric}** (first column). {_seed_note(result)} "
        "`queries` counts the evaluated (seed, query) rows.",
        "",
        markdown_table(results_frame(result)),
        "",
    ]
    partial = [m for m in result.methods if m.part_only]
    if partial:
        lines += ["Scored on part of the protocol only (— where a metric does not apply):", ""]
        lines += [*(f"- {m.name}: {m.part_only}" for m in partial), ""]
    published = published_frame(result)
    lines += ["## Published results, same protocol", ""]
    if published is None:
        lines += ["No published results for this dataset.", ""]
    else:
        lines += [
            f"Published figures as reported by their authors; the last row is our best method by "
            f"{result.primary_metric} in this run.",
            "",
            markdown_table(published),
            "",
        ]
    if result.extra_metrics:
        extra = pd.DataFrame({"value": {k: format_value(v) for k, v in result.extra_metrics.items()}})
        extra.index.name = "metric"
        lines += ["## Extra metrics", "", markdown_table(extra), ""]
    for title, table in result.tables.items():
        shown = table.map(lambda v: format_value(float(v)) if isinstance(v, float) else str(v))
        lines += [f"## {title}", "", markdown_table(shown), ""]
    if result.notes:
        lines += ["## Notes", "", *(f"- {note}" for note in result.notes), ""]
    if plots:
        lines += ["## Plots", ""]
        for title, file in plots.items():
            lines += [f"### {title}", "", f"![{title}]({file})", ""]
    all_metrics = metric_order(result)
    if all_metrics != headline_metrics(result):
        lines += ["## All metrics", "", markdown_table(results_frame(result, all_metrics)), ""]
    return "\n".join(lines)
