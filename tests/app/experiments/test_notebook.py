"""The demo notebook executes end to end (nbclient, the venv's python3 kernel) and shows its plots."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[3] / "notebooks" / "experiment_demo.ipynb"


def test_demo_notebook_runs_and_shows_plots(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "small.toml"  # a tiny synthetic marketplace through the real pipeline
    config.write_text(
        "creators = 200\nproducts = 800\npromotions = 8000\nfull_catalogue_queries = 10\nn_estimators = 80\n"
        "distill_queries = 30\nrecall_queries = 5\ncandidates = 200\n"
    )
    monkeypatch.setenv("RECSYS_NOTEBOOK_DATASET", "synthetic")
    monkeypatch.setenv("RECSYS_NOTEBOOK_CONFIG", str(config))
    monkeypatch.setenv("RECSYS_NOTEBOOK_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("RECSYS_NOTEBOOK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("RECSYS_CONFIG", os.devnull)
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        notebook, kernel_name="python3", timeout=300, resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    outputs = [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.get("outputs", [])]
    assert not [out for out in outputs if out.get("output_type") == "error"]
    images = [out for out in outputs if "image/png" in out.get("data", {})]
    assert len(images) == 3  # metric at k, per category, exposure
    runs = sorted((tmp_path / "runs").iterdir())
    assert len(runs) == 2 and all((run / "report.md").is_file() for run in runs)
    assert (runs[0] / "metrics.json").read_text() == (runs[1] / "metrics.json").read_text()
    text = "".join(str(out.get("text", "")) + str(out.get("data", {}).get("text/plain", "")) for out in outputs)
    assert "[+0.0000, +0.0000]" in text and "'creators': 200" in text
