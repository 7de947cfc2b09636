"""`recsys experiment` and `recsys compare` from the command line (typer's CliRunner, in process)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

import recsys.app.cli.experiment  # noqa: F401  (registers the commands under test)
from recsys.app.cli._app import app

runner = CliRunner()


def _experiment(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["experiment", *args])
    return result.exit_code, result.output


def test_experiment_writes_a_run_and_prints_the_table_and_the_run_dir(toy: str, runs_dir: Path, tmp_path: Path) -> None:
    config = tmp_path / "toy.toml"
    config.write_text("n_queries = 5\nwith_extras = false\n")
    code, output = _experiment(
        "--dataset",
        toy,
        "--seed",
        "4",
        "--config",
        str(config),
        "--runs-dir",
        str(runs_dir),
        "--data-dir",
        str(tmp_path),
    )
    assert code == 0, output
    run_dir = Path(output.strip().splitlines()[-1].removeprefix("run dir: "))
    assert run_dir.parent == runs_dir and (run_dir / "report.md").is_file()
    assert "ndcg@10" in output and "full pipeline" in output
    metrics = json.loads((run_dir / "metrics.json").read_text())
    value = metrics["methods"]["full pipeline"]["metrics"]["ndcg@10"]
    assert f"{value:.4f}" in output  # the printed table shows the numbers of metrics.json
    saved = json.loads((run_dir / "config.json").read_text())
    assert saved["seed"] == 4 and saved["config"]["n_queries"] == 5 and saved["data_dir"] == str(tmp_path)


def test_experiment_reports_unknown_config_keys_and_datasets(toy: str, runs_dir: Path, tmp_path: Path) -> None:
    config = tmp_path / "typo.json"
    config.write_text('{"n_querys": 5}')
    code, output = _experiment("--dataset", toy, "--config", str(config), "--runs-dir", str(runs_dir))
    assert code == 1
    assert "unknown config key(s) for dataset 'toy': n_querys" in " ".join(output.split())
    code, output = _experiment("--dataset", "imagenet", "--runs-dir", str(runs_dir))
    assert code == 1 and "unknown dataset 'imagenet'" in output
    assert not runs_dir.exists()


def test_compare_prints_both_runs_and_the_interval(toy: str, runs_dir: Path, tmp_path: Path) -> None:
    dirs = []
    for shift in ("0.0", "0.1"):
        config = tmp_path / f"shift{shift}.toml"
        config.write_text(f"shift = {shift}\nwith_extras = false\n")
        code, output = _experiment("-d", toy, "-c", str(config), "--runs-dir", str(runs_dir))
        assert code == 0, output
        dirs.append(output.strip().splitlines()[-1].removeprefix("run dir: "))
    result = runner.invoke(app, ["compare", *dirs, "--metric", "ndcg@10", "--resamples", "200"])
    assert result.exit_code == 0, result.output
    assert "config.shift: 0.0 -> 0.1" in result.output
    full_row = next(line for line in result.output.splitlines() if "full pipeline" in line)
    assert "+0.1000" in full_row and "[+0.1000, +0.1000]" in full_row and "↑" in full_row
    # two methods of one run: B's pipeline against A's random ordering
    result = runner.invoke(app, ["compare", dirs[0], dirs[0], "-m", "ndcg@10", "--against", "random"])
    assert result.exit_code == 0, result.output
    assert "full pipeline (A: random)" in result.output and "config differences" not in result.output
    result = runner.invoke(app, ["compare", dirs[0], dirs[0], "--against", "nope"])
    assert result.exit_code == 1 and "method 'nope' is not in run A" in " ".join(result.output.split())


def test_compare_names_a_missing_run_dir(tmp_path: Path) -> None:
    result = runner.invoke(app, ["compare", str(tmp_path / "a"), str(tmp_path / "b")])
    assert result.exit_code == 1
    flat = " ".join(result.output.split())  # the console wraps long paths at its width
    assert "does not exist" in flat and str(tmp_path / "a") in flat


def test_help_explains_with_examples() -> None:
    cases = (("experiment", "recsys experiment --dataset ml-100k"), ("compare", "--resamples"))
    for command, expected in cases:
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0
        assert "Examples" in result.output and expected in result.output
