"""Paired bootstrap CI and run comparison."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from recsys.app.experiments.framework.compare import CompareError, compare_runs, comparison_frame, paired_bootstrap_ci
from recsys.app.experiments.framework.rundir import RunDirError, load_run
from recsys.app.experiments.framework.runner import run_experiment

NO_PLOTS = {"with_extras": False}


def test_identical_values_give_a_zero_interval() -> None:
    a = np.random.default_rng(0).random(50)
    ci = paired_bootstrap_ci(a, a.copy(), resamples=500, seed=1)
    assert (ci.mean_diff, ci.low, ci.high, ci.n) == (0.0, 0.0, 0.0, 50)


def test_a_constant_shift_gives_an_interval_at_the_shift() -> None:
    a = np.random.default_rng(0).random(50)
    ci = paired_bootstrap_ci(a, a + 0.25, resamples=500, seed=1)
    assert ci.mean_diff == pytest.approx(0.25)
    assert ci.low == pytest.approx(0.25) and ci.high == pytest.approx(0.25)


def test_interval_width_matches_the_normal_approximation() -> None:
    # differences are +1 or -1 in equal numbers: mean 0, sd 1, so the 95% CI is about ±1.96 / sqrt(n)
    n = 400
    diff = np.tile([1.0, -1.0], n // 2)
    ci = paired_bootstrap_ci(np.zeros(n), diff, resamples=4000, seed=3)
    half_width = 1.96 / math.sqrt(n)
    assert ci.mean_diff == 0.0
    assert ci.low == pytest.approx(-half_width, rel=0.1)
    assert ci.high == pytest.approx(half_width, rel=0.1)


def test_bootstrap_is_deterministic_for_a_seed_and_drops_nan_pairs() -> None:
    rng = np.random.default_rng(5)
    a, b = rng.random(30), rng.random(30)
    assert paired_bootstrap_ci(a, b, seed=7) == paired_bootstrap_ci(a, b, seed=7)
    assert paired_bootstrap_ci(a, b, seed=7) != paired_bootstrap_ci(a, b, seed=8)
    a[:5] = np.nan
    assert paired_bootstrap_ci(a, b, resamples=10).n == 25
    empty = paired_bootstrap_ci([], [], resamples=10)
    assert empty.n == 0 and math.isnan(empty.low)
    with pytest.raises(ValueError, match="same length"):
        paired_bootstrap_ci([1.0], [1.0, 2.0])


def test_compare_runs_pairs_queries_and_finds_the_shift(toy: str, runs_dir: Path) -> None:
    a = run_experiment(toy, 1, Path("."), runs_dir, {"n_seeds": 2, "with_extras": False})
    b = run_experiment(toy, 1, Path("."), runs_dir, {"n_seeds": 2, "shift": 0.05, "with_extras": False})
    comparison = compare_runs(a.run_dir, b.run_dir, resamples=300)
    rows = {(r.method, r.metric): r for r in comparison.rows}
    shifted = rows[("full pipeline", "ndcg@10")]
    assert shifted.ci is not None and shifted.ci.n == 80  # 40 queries x 2 seeds
    assert shifted.diff == pytest.approx(0.05)
    assert shifted.ci.low == pytest.approx(0.05) and shifted.ci.high == pytest.approx(0.05)
    unchanged = rows[("random", "ndcg@10")]
    assert unchanged.ci is not None and (unchanged.ci.low, unchanged.ci.high) == (0.0, 0.0)
    assert rows[("random", "coverage@10")].ci is None  # no per-query values: no interval
    assert comparison.warnings == []
    assert comparison.config_diff == {"config.shift": (0.0, 0.05)}
    frame = comparison_frame(comparison)
    first = frame.iloc[0]
    assert (first["method"], first["metric"]) == ("random", "ndcg@10")  # primary metric first
    assert frame.set_index(["method", "metric"]).loc[("full pipeline", "ndcg@10"), "sig"] == "↑"


def test_compare_selects_methods_and_metrics(toy: str, runs_dir: Path) -> None:
    a = run_experiment(toy, 1, Path("."), runs_dir, NO_PLOTS)
    comparison = compare_runs(a.run_dir, a.run_dir, metrics=["recall@5"], methods=["popularity"], resamples=50)
    assert [(r.method, r.metric) for r in comparison.rows] == [("popularity", "recall@5")]
    with pytest.raises(CompareError, match="method 'nope' is not in run A"):
        compare_runs(a.run_dir, a.run_dir, methods=["nope"])
    with pytest.raises(CompareError, match="metric\\(s\\) auc are in neither run"):
        compare_runs(a.run_dir, a.run_dir, metrics=["auc"])


def test_compare_warns_about_different_datasets_and_unpaired_seeds(toy: str, runs_dir: Path) -> None:
    a = load_run(run_experiment(toy, 1, Path("."), runs_dir, NO_PLOTS).run_dir)
    b = load_run(run_experiment(toy, 2, Path("."), runs_dir, NO_PLOTS).run_dir)
    b.metrics["dataset"] = "other"
    b.metrics["protocol"] = "another protocol"
    comparison = compare_runs(a, b, methods=["random"], metrics=["ndcg@10"], resamples=50)
    text = "\n".join(comparison.warnings)
    assert "different datasets: A is 'toy', B is 'other'" in text
    assert "different protocols" in text
    assert "no (seed, query) pair in common" in text
    assert comparison.rows[0].ci is not None and comparison.rows[0].ci.n == 0


def test_missing_or_incomplete_run_dirs_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(RunDirError, match="does not exist"):
        compare_runs(tmp_path / "nope", tmp_path / "nope")
    (tmp_path / "half").mkdir()
    with pytest.raises(RunDirError, match=r"metrics\.json is missing"):
        load_run(tmp_path / "half")


def test_queries_in_only_one_run_are_left_out_with_a_warning(toy: str, runs_dir: Path) -> None:
    a = run_experiment(toy, 1, Path("."), runs_dir, {"n_queries": 40, "with_extras": False})
    b = run_experiment(toy, 1, Path("."), runs_dir, {"n_queries": 30, "with_extras": False})
    comparison = compare_runs(a.run_dir, b.run_dir, methods=["popularity"], metrics=["ndcg@10"], resamples=50)
    ci = comparison.rows[0].ci
    assert ci is not None and ci.n == 30 and (ci.low, ci.high) == (0.0, 0.0)  # same 30 queries
    assert any("30 paired queries (A has 40, B has 30)" in w for w in comparison.warnings)


def test_against_compares_two_methods_of_one_run_on_the_same_queries(toy: str, runs_dir: Path) -> None:
    run = load_run(run_experiment(toy, 1, Path("."), runs_dir, NO_PLOTS).run_dir)
    comparison = compare_runs(run, run, metrics=["ndcg@10"], methods=["full pipeline"], against="random")
    (row,) = comparison.rows
    pipeline, random = run.per_query("full pipeline"), run.per_query("random")
    both = pipeline.merge(random, on="query", suffixes=("_b", "_a"))
    assert row.baseline == "random" and row.a == run.method_metrics("random")["ndcg@10"]
    assert row.ci is not None and row.ci.n == len(both) > 0
    assert row.ci.mean_diff == pytest.approx(float((both["ndcg@10_b"] - both["ndcg@10_a"]).mean()))
    assert row.ci.low > 0  # the toy pipeline is far above random
    frame = comparison_frame(comparison)
    assert frame.iloc[0]["method"] == "full pipeline (A: random)" and frame.iloc[0]["sig"] == "↑"
    # every other method of B by default; unknown names are clear errors
    assert {r.method for r in compare_runs(run, run, metrics=["ndcg@10"], against="random").rows} == set(
        run.methods
    ) - {"random"}
    with pytest.raises(CompareError, match="method 'nope' is not in run A"):
        compare_runs(run, run, against="nope")
    with pytest.raises(CompareError, match="method 'nope' is not in run B"):
        compare_runs(run, run, methods=["nope"], against="random")
