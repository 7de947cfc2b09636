"""The ml-100k adapter end to end on a tiny seeded problem: the two-stage pipeline beats popularity, lists never
contain masked items, and a seed reproduces its metrics."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from recsys.app.experiments.ml100k import experiment as ml100k
from recsys.app.experiments.ml100k.movielens import load_movielens, random_split
from recsys.app.experiments.user_item.baselines import CFSettings
from recsys.app.experiments.user_item.rerank import RerankConfig

SMALL_RANKER = RerankConfig(num_leaves=7, min_data_in_leaf=20, n_estimators=60, early_stopping_rounds=20)


def _ml_config() -> ml100k.Config:
    return ml100k.Config(
        n_seeds=2,
        n_candidates=60,
        cf=CFSettings(als_factors=8, als_regularization=1.0, als_alpha=1.0, ease_l2=50.0, knn_neighbors=20),
        ranker_folds=1,
        rerank=SMALL_RANKER,
    )


def test_ml100k_pipeline_beats_popularity_and_reports_every_method(movielens_dir: Path) -> None:
    result = ml100k.run(_ml_config(), seed=3, data_dir=movielens_dir)
    pipeline, popularity = result.method("pipeline"), result.method("popularity")
    assert pipeline.metrics["ndcg@10"] > popularity.metrics["ndcg@10"] + 0.1
    assert result.method("random").metrics["ndcg@10"] < pipeline.metrics["ndcg@10"] - 0.1
    assert [m.name for m in result.methods] == list(ml100k.METHODS)
    assert set(pipeline.metrics_std) == set(ml100k.HEADLINE)  # two seeds: mean ± std
    assert pipeline.per_query["seed"].nunique() == 2 and pipeline.per_query["query"].nunique() == 120
    assert sorted(pipeline.metrics_at_k["k"].unique()) == [1, 5, 10, 20, 50]
    assert pipeline.exposure is not None and pipeline.exposure.sum() == 2 * 120 * 10
    assert pipeline.per_category is not None and "Horror" in set(pipeline.per_category["category"])
    assert 0 < result.extra_metrics["candidate_recall@60"] <= 1
    assert result.published is not None and result.published.loc["BPR (RecBole docs)", "ndcg@10"] == 0.2920


def test_ml100k_lists_never_contain_training_or_validation_items(movielens_dir: Path) -> None:
    data = load_movielens(movielens_dir / "ml-100k")
    config = _ml_config()
    outcome = ml100k.run_split(data, config, seed=5)
    split = random_split(data.user, data.n_users, config.split_ratios, seed=5)
    for name, top in outcome.tops.items():
        for u in range(data.n_users):
            seen = set(data.item[np.concatenate([split.train[u], split.valid[u]])].tolist())
            assert not seen & set(top[u].tolist()), f"{name} recommends a known item to user {u}"


def test_ml100k_same_seed_same_metrics(movielens_dir: Path) -> None:
    config = _ml_config().model_copy(update={"n_seeds": 1, "methods": ["popularity", "pipeline"]})
    a = ml100k.run(config, seed=9, data_dir=movielens_dir)
    b = ml100k.run(config, seed=9, data_dir=movielens_dir)
    assert [m.metrics for m in a.methods] == [m.metrics for m in b.methods]
