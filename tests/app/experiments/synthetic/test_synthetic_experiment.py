"""The synthetic-marketplace experiment: reproducible, and the full pipeline beats its baselines."""

from __future__ import annotations

from pathlib import Path

import pytest

from recsys.app.experiments.synthetic import experiment as synthetic

TINY = synthetic.Config(
    creators=250,
    products=1000,
    promotions=12_000,
    full_catalogue_queries=15,
    n_estimators=120,
    distill_queries=40,
    recall_queries=10,
    candidates=300,
)


@pytest.fixture(scope="module")
def result() -> synthetic.ExperimentResult:
    return synthetic.run(TINY, seed=4, data_dir=Path("."))


def test_the_same_seed_gives_the_same_metrics(result: synthetic.ExperimentResult) -> None:
    again = synthetic.run(TINY, seed=4, data_dir=Path("."))
    assert {m.name: m.metrics for m in again.methods} == {m.name: m.metrics for m in result.methods}


def test_pipeline_beats_popularity_and_random_and_stays_below_the_oracle(result: synthetic.ExperimentResult) -> None:
    m = {x.name: x.metrics for x in result.methods}
    for metric in ("c2p_ndcg@10", "p2c_ndcg@10", "c2p_full_ndcg@10"):
        assert m["full pipeline"][metric] > m["popularity"][metric], metric
        assert m["full pipeline"][metric] > m["random"][metric], metric
        assert m["full pipeline"][metric] <= m["oracle (ground truth)"][metric] + 1e-9, metric
    assert result.extra_metrics["c2p_pipeline_over_oracle"] > 0.8


def test_result_carries_what_the_report_needs(result: synthetic.ExperimentResult) -> None:
    assert result.primary_metric == "c2p_ndcg@10" and result.headline_method == "full pipeline"
    pipeline = result.method("full pipeline")
    assert pipeline.exposure is not None and pipeline.exposure.sum() > 0
    assert {"query", "c2p_ndcg@10"} <= set(pipeline.per_query.columns)
    assert "c2p_cold_queries" in result.extra_metrics


def test_full_catalogue_only_methods_are_reported_beside_the_pipeline(result: synthetic.ExperimentResult) -> None:
    from recsys.app.experiments.framework.report import render_report, results_frame
    from recsys.app.experiments.framework.rundir import validate_result

    names = [m.name for m in result.methods]
    assert names[:4] == ["full pipeline", synthetic.NO_EXPOSURE, synthetic.BY_GMV, "retrieval-only"]
    by_gmv, plain = result.method(synthetic.BY_GMV), result.method(synthetic.NO_EXPOSURE)
    # the merchant's sort exists for creators-for-a-product lists only; both are scored on the full catalogue alone
    assert set(by_gmv.metrics) == {"p2c_full_ndcg@10"} and by_gmv.per_category is None
    assert set(plain.metrics) == {"c2p_full_ndcg@10", "p2c_full_ndcg@10"}
    pipeline = result.method("full pipeline").per_query.set_index("query")["p2c_full_ndcg@10"].dropna()
    assert set(by_gmv.per_query["query"]) == set(pipeline.index)  # the same queries: pairable by recsys compare
    assert 0 < by_gmv.metrics["p2c_full_ndcg@10"] <= 1 and 0 < plain.metrics["p2c_full_ndcg@10"] <= 1
    table = results_frame(result)
    assert table.loc[synthetic.BY_GMV, "p2c_full_ndcg@10"] != "—" and table.loc[synthetic.BY_GMV, "c2p_ndcg@10"] == "—"
    assert f"- {synthetic.BY_GMV}: full catalogue" in render_report(result, {"run_id": "x", "seed": 4}, {})
    validate_result(result)  # no primary (logged) metric, but marked part_only: the run directory accepts it
