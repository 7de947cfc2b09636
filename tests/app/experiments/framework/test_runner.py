"""The runner writes a complete, reproducible runs/<run_id>/ and refuses bad configs with clear errors."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from recsys.app.experiments.framework import runner
from recsys.app.experiments.framework.rundir import ResultError, load_run
from recsys.app.experiments.framework.runner import ConfigError, load_overrides, run_experiment, write_run
from tests.app.experiments import toy_adapter

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_run_dir_holds_config_metrics_per_query_report_and_plots(toy: str, runs_dir: Path) -> None:
    out = run_experiment(toy, seed=3, data_dir=Path("/data/somewhere"), runs_dir=runs_dir)
    assert re.fullmatch(r"toy-\d{8}-\d{6}-[0-9a-f]{6}", out.run_id)
    files = {p.relative_to(out.run_dir).as_posix() for p in out.run_dir.rglob("*") if p.is_file()}
    assert files == {
        "config.json",
        "metrics.json",
        "report.md",
        "metric_at_k.png",
        "per_category.png",
        "exposure_long_tail.png",
        "per_query/random.parquet",
        "per_query/popularity.parquet",
        "per_query/full_pipeline.parquet",
    }
    for png in ("metric_at_k.png", "per_category.png", "exposure_long_tail.png"):
        assert (out.run_dir / png).read_bytes()[:8] == PNG_MAGIC
    config = json.loads((out.run_dir / "config.json").read_text())
    assert config["seed"] == 3 and config["dataset"] == "toy" and config["run_id"] == out.run_id
    assert config["config"] == {"n_queries": 40, "shift": 0.0, "n_seeds": 1, "with_extras": True}
    assert config["data_dir"].endswith("somewhere")
    assert {"numpy", "pandas", "python"} <= set(config["versions"])
    assert "commit" in config["git"]
    metrics = json.loads((out.run_dir / "metrics.json").read_text())
    assert list(metrics["methods"]) == ["random", "popularity", "full pipeline"]
    full = metrics["methods"]["full pipeline"]
    per_query = pd.read_parquet(out.run_dir / full["per_query"])
    assert full["n_queries"] == len(per_query) == 40
    assert full["metrics"]["ndcg@10"] == pytest.approx(per_query["ndcg@10"].mean())
    assert metrics["published"]["SASRec"] == {"ndcg@10": 0.3, "HR@10": 0.6}
    assert metrics["extra_metrics"] == {"toy extra": 1.5}


def test_same_seed_gives_identical_metrics_and_another_seed_does_not(toy: str, runs_dir: Path) -> None:
    first = run_experiment(toy, seed=5, data_dir=Path("."), runs_dir=runs_dir)
    second = run_experiment(toy, seed=5, data_dir=Path("."), runs_dir=runs_dir)
    other = run_experiment(toy, seed=6, data_dir=Path("."), runs_dir=runs_dir)
    assert first.run_dir != second.run_dir  # a run directory is never reused
    text = (first.run_dir / "metrics.json").read_text()
    assert (second.run_dir / "metrics.json").read_text() == text
    assert (other.run_dir / "metrics.json").read_text() != text
    assert _config_hash(first.run_id) == _config_hash(second.run_id) != _config_hash(other.run_id)


def _config_hash(run_id: str) -> str:
    match = re.fullmatch(r"toy-\d{8}-\d{6}-(?P<hash>[0-9a-f]{6})(-\d+)?", run_id)  # -2: same second
    assert match, run_id
    return match["hash"]


def test_an_existing_run_dir_is_never_overwritten(toy: str, runs_dir: Path) -> None:
    config = toy_adapter.Config(with_extras=False)
    result = toy_adapter.run(config, 1, Path("."))
    created = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    run_id = runner.make_run_id("toy", {}, 1, created)
    assert run_id.startswith("toy-20260102-030405-")
    a = write_run(runs_dir, run_id, "toy", result, config, 1, Path("."), created)
    marker = a / "marker"
    marker.write_text("keep me")
    b = write_run(runs_dir, run_id, "toy", result, config, 1, Path("."), created)
    assert b.name == f"{run_id}-2" and marker.read_text() == "keep me"
    assert not list(runs_dir.glob(".partial-*"))


def test_overrides_from_toml_and_json_and_a_runs_own_config(toy: str, runs_dir: Path, tmp_path: Path) -> None:
    toml_file = tmp_path / "c.toml"
    toml_file.write_text("n_queries = 7\nshift = 0.1\n")
    out = run_experiment(toy, 1, Path("."), runs_dir, load_overrides(toml_file))
    assert load_run(out.run_dir).metrics["methods"]["random"]["n_queries"] == 7
    json_file = tmp_path / "c.json"
    json_file.write_text('{"n_queries": 9}')
    assert load_overrides(json_file) == {"n_queries": 9}
    assert load_overrides(out.run_dir / "config.json") == {
        "n_queries": 7,
        "shift": 0.1,
        "n_seeds": 1,
        "with_extras": True,
    }


def test_unknown_config_keys_are_named(toy: str, runs_dir: Path) -> None:
    expected = r"unknown config key\(s\) for dataset 'toy': n_querys, typo; valid keys: .*n_queries"
    with pytest.raises(ConfigError, match=expected):
        run_experiment(toy, 1, Path("."), runs_dir, {"n_querys": 3, "typo": 1})
    assert not runs_dir.exists() or not any(runs_dir.iterdir())


def test_invalid_config_values_name_the_field(toy: str, runs_dir: Path) -> None:
    with pytest.raises(ConfigError, match=r"shift: .*less than or equal to 0.2.*got 5"):
        run_experiment(toy, 1, Path("."), runs_dir, {"shift": 5})


def test_unreadable_config_files_are_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_overrides(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("n_queries = = 3")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_overrides(bad)


def test_a_result_without_the_primary_metric_is_rejected_unless_marked_part_only(runs_dir: Path) -> None:
    result = toy_adapter.run(toy_adapter.Config(), 1, Path("."))
    del result.methods[1].metrics["ndcg@10"]
    with pytest.raises(ResultError, match="'popularity' has no value for the primary metric 'ndcg@10'"):
        write_run(runs_dir, "toy-x", "toy", result, toy_adapter.Config(), 1, Path("."), datetime.now(UTC))
    assert not runs_dir.exists() or not any(runs_dir.iterdir())
    result.methods[1].part_only = "scored on another part of the protocol"
    result.methods[1].metrics["recall@10"] = 0.5
    run_dir = write_run(runs_dir, "toy-y", "toy", result, toy_adapter.Config(), 1, Path("."), datetime.now(UTC))
    assert "- popularity: scored on another part of the protocol" in (run_dir / "report.md").read_text()


def test_data_files_of_the_dataset_are_hashed(tmp_path: Path) -> None:
    (tmp_path / "ml-100k").mkdir()
    (tmp_path / "ml-100k" / "ml-100k.inter").write_text("1\t2\n")
    hashes = runner.data_fingerprint(tmp_path, "ml-100k")
    assert list(hashes) == ["ml-100k/ml-100k.inter"] and len(hashes["ml-100k/ml-100k.inter"]) == 64
    assert runner.data_fingerprint(tmp_path, None) == {}


def test_undefined_metrics_are_null_in_json_and_a_dash_in_the_report(runs_dir: Path) -> None:
    config = toy_adapter.Config(with_extras=False)
    result = toy_adapter.run(config, 1, Path("."))
    result.methods[0].metrics["recall@10"] = float("nan")
    run_dir = write_run(runs_dir, "toy-nan", "toy", result, config, 1, Path("."), datetime.now(UTC))
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["methods"]["random"]["metrics"]["recall@10"] is None
    assert "| random | " in (report := (run_dir / "report.md").read_text())
    assert next(line for line in report.splitlines() if line.startswith("| random |")).split(" | ")[2] == "—"


def test_a_name_held_by_a_running_write_goes_to_the_next_run(
    toy: str, runs_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two runs started in the same second with the same config (a sweep over ``RECSYS_*`` settings) never share a
    directory, and each records the ``RECSYS_*`` variables it ran under, also in its reproduce command."""
    config = toy_adapter.Config(with_extras=False)
    result = toy_adapter.run(config, 1, Path("."))
    created = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    run_id = runner.make_run_id("toy", {}, 1, created)
    runs_dir.mkdir(parents=True, exist_ok=True)
    held = runs_dir / f".reserved-{run_id}"
    held.touch()  # another process is writing run_id
    monkeypatch.setenv("RECSYS_MATCHING__RETRIEVAL_BLEND", "0")
    monkeypatch.setenv("RECSYS_DATABASE_URL", "postgresql://user:secret@127.0.0.1/db")  # never recorded
    out = write_run(runs_dir, run_id, "toy", result, config, 1, Path("."), created)
    assert out.name == f"{run_id}-2" and not (runs_dir / run_id).exists()
    assert held.exists() and not (runs_dir / f".reserved-{run_id}-2").exists()  # its own marker is gone
    meta = json.loads((out / "config.json").read_text())
    assert meta["environment"]["RECSYS_MATCHING__RETRIEVAL_BLEND"] == "0"
    assert all(k == "RECSYS_CONFIG" or "__" in k for k in meta["environment"])
    command = meta["command"]
    assert "RECSYS_MATCHING__RETRIEVAL_BLEND=0 " in command.split("recsys experiment")[0]
    assert "recsys experiment --dataset toy" in command and command in (out / "report.md").read_text()
    assert "secret" not in (out / "config.json").read_text() + (out / "report.md").read_text()
