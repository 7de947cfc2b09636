"""report.md: protocol, results table (primary metric first, mean ± std with seeds), published table with our
best method, extra metrics, notes, and the plots embedded."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
from rich.console import Console

from recsys.app.experiments.framework.report import print_frame
from recsys.app.experiments.framework.runner import run_experiment


def _section(report: str, title: str) -> str:
    return report.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_report_sections_and_tables(toy: str, runs_dir: Path) -> None:
    out = run_experiment(toy, 1, Path("."), runs_dir, {"n_seeds": 3})
    report = (out.run_dir / "report.md").read_text()
    assert "Toy protocol: seeded uniform per-query values; no data." in _section(report, "Protocol")
    results = _section(report, "Results")
    assert "| method | ndcg@10 | recall@10 | coverage@10 | queries |" in results
    full = out.result.method("full pipeline")
    assert f"| full pipeline | {full.metrics['ndcg@10']:.4f} ± {full.metrics_std['ndcg@10']:.4f} |" in results
    assert "over 3 seeds" in results
    published = _section(report, "Published results, same protocol")
    assert "| SASRec (published) | 0.3000 | 0.6000 |" in published
    assert f"| ours: full pipeline (this run) | {full.metrics['ndcg@10']:.4f}" in published
    assert "| toy extra | 1.5000 |" in _section(report, "Extra metrics")
    assert "- toy note" in _section(report, "Notes")
    for png in ("metric_at_k.png", "per_category.png", "exposure_long_tail.png"):
        assert f"]({png})" in report and (out.run_dir / png).is_file()
    assert "recall@5" in _section(report, "All metrics")  # every metric is somewhere in the report


def test_report_without_optional_parts_has_no_plots(toy: str, runs_dir: Path) -> None:
    out = run_experiment(toy, 1, Path("."), runs_dir, {"with_extras": False})
    report = (out.run_dir / "report.md").read_text()
    assert "No published results for this dataset." in report
    assert "## Plots" not in report
    assert not list(out.run_dir.glob("*.png"))


def test_console_table_wider_than_the_console_keeps_every_column() -> None:
    """A table wider than the terminal is printed whole (rich caps ``print(width=)`` at the console's width)."""
    frame = pd.DataFrame(
        {"A": ["0.9732"], "B − A": ["-0.0044"], "95% CI": ["[-0.0075, -0.0015]"], "pairs": [200], "sig": ["↓"]},
        index=pd.Index(["full pipeline, by expected GMV (A: retrieval-only)" * 2], name="method"),
    )
    console = Console(width=80, file=io.StringIO(), color_system=None)
    print_frame(console, frame, "B − A")
    row = next(line for line in console.file.getvalue().splitlines() if "full pipeline" in line)
    assert all(cell in row for cell in ("0.9732", "-0.0044", "[-0.0075, -0.0015]", "200", "↓"))
    assert console.width == 80
