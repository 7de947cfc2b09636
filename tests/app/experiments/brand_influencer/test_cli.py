"""`recsys score` from the command line (typer's CliRunner, in process)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

import recsys.app.cli.brand  # noqa: F401  (registers the command under test)
from recsys.app.cli._app import app

runner = CliRunner()


def _score(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["score", *args])
    return result.exit_code, result.output


def _flat(text: str) -> str:
    """Console output without its whitespace: rich wraps lines inside long paths and at spaces (dropping the space),
    so phrases are compared without theirs (a longer temporary path had turned "does not" into "doesnot")."""
    return "".join(text.split())


def test_score_writes_every_candidate(trained_split, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    artifacts, _, test_dir, _ = trained_split
    out = tmp_path / "scores.csv"
    code, output = _score("--artifacts", str(artifacts), "--dataset", f"brand-influencer:{test_dir}", "--out", str(out))
    assert code == 0, output
    assert len(pd.read_csv(out)) == len(pd.read_csv(test_dir / "candidates.csv"))
    assert "800" in output and output.strip().splitlines()[-1] == str(out)


def test_score_errors_name_the_problem(trained_split, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    artifacts, _, test_dir, _ = trained_split
    out = str(tmp_path / "s.csv")
    code, output = _score("--artifacts", str(artifacts), "--dataset", str(test_dir), "--out", out)
    assert code == 1 and "brand-influencer:PATH" in _flat(output)
    code, output = _score(
        "--artifacts", str(tmp_path / "nope"), "--dataset", f"brand-influencer:{test_dir}", "--out", out
    )
    assert code == 1 and "doesnotexist" in _flat(output)
    broken = tmp_path / "test"
    shutil.copytree(test_dir, broken)
    (broken / "candidates.csv").unlink()
    code, output = _score("--artifacts", str(artifacts), "--dataset", f"brand-influencer:{broken}", "--out", out)
    assert code == 1 and "candidates.csv" in _flat(output) and "Traceback" not in output
