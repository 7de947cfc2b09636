"""The benchmark's one table: measured figures, and targets with their ratio and verdict."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

SEPARATE_RESULTS = [
    "Measured apart, each by its own command into its own file (this file is rewritten whole by every run):",
    "",
    "- the soak and fault benchmark (10 minutes at 80% of capacity with reloads, plan edits, events and three"
    " injected faults): [SOAK.md](SOAK.md), `python -m bench.soak`;",
    "- training in memory vs on Dask at growing sizes (1M, 5M, 20M promotions), the largest size each path completes"
    " on this machine and, on paper from the measured growth, what 1B promotions would need: [SCALE.md](SCALE.md),"
    " `python -m bench.scale`;",
    "- the request path's CPU and its profile: [PROFILE.md](PROFILE.md), `python -m bench.request_profile`.",
    "",
]
"""Where the benchmarks that do not run inside ``python -m bench.run`` write their figures."""


@dataclass
class Report:
    title: str
    rows: list[tuple[str, str, str]] = field(default_factory=list)  # (measure, value, target verdict)
    values: dict[str, Any] = field(default_factory=dict)

    def add(self, measure: str, value: str) -> None:
        self.rows.append((measure, value, ""))

    def target(self, measure: str, value: float, limit: float, higher_is_better: bool = False) -> None:
        met = value >= limit if higher_is_better else value <= limit
        sign = ">=" if higher_is_better else "<="
        self.rows.append((measure, f"{value:.2f}", f"{'met' if met else 'MISSED'} (target {sign} {limit:g})"))

    def print(self) -> None:
        table = Table(title=self.title)
        for col in ("measure", "value", "target"):
            table.add_column(col)
        for row in self.rows:
            table.add_row(*row)
        Console().print(table)

    def write(self, path: Path, machine: dict[str, str], command: str) -> None:
        lines = [
            "# Benchmark results",
            "",
            f"Command: `{command}` (from the repository root, after `make setup`).",
            "",
            *[f"- {k}: {v}" for k, v in machine.items()],
            "",
            "| measure | value | target |",
            "|---|---|---|",
            *[f"| {m} | {v} | {t} |" for m, v, t in self.rows],
            "",
            *SEPARATE_RESULTS,
        ]
        path.write_text("\n".join(lines))
