"""The amazon-beauty adapter end to end on a tiny seeded problem: the two-stage pipeline beats popularity with
full ranking, views never learn from or recommend what they hold out, and a seed reproduces its metrics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from recsys.app.experiments.amazon_beauty import experiment as amazon_beauty
from recsys.app.experiments.amazon_beauty.candidates import BASE_FEATURES, CandidateBuilder, FeatureConfig
from recsys.app.experiments.amazon_beauty.sequences import leave_one_out, load_beauty
from recsys.app.experiments.amazon_beauty.sources import BeautySources, SourcesConfig
from recsys.app.experiments.user_item.baselines import CFSettings
from recsys.app.experiments.user_item.rerank import RerankConfig

SMALL_RANKER = RerankConfig(num_leaves=7, min_data_in_leaf=20, n_estimators=60, early_stopping_rounds=20)


def _beauty_config() -> amazon_beauty.Config:
    cf = CFSettings(als_factors=8, als_regularization=1.0, als_alpha=5.0, ease_l2=10.0, knn_neighbors=20)
    return amazon_beauty.Config(
        sources=SourcesConfig(per_source=20, popular=5, cf=cf), rerank=SMALL_RANKER, chunk_size=64
    )


def test_beauty_pipeline_beats_popularity_with_full_ranking(beauty_dir: Path) -> None:
    result = amazon_beauty.run(_beauty_config(), seed=1, data_dir=beauty_dir)
    pipeline, popularity = result.method("pipeline"), result.method("popularity")
    assert pipeline.metrics["ndcg@10"] > popularity.metrics["ndcg@10"] + 0.1
    assert pipeline.metrics["ndcg@10"] >= result.method("candidates").metrics["ndcg@10"] - 0.02
    assert [m.name for m in result.methods] == list(amazon_beauty.METHODS)
    extra = result.extra_metrics
    assert 0 < extra["candidate_recall_union"] <= 1
    assert all(extra["candidate_recall_union"] >= extra[f"candidate_recall_{s}"] for s in ("transitions", "ease"))
    # full ranking: every user has an MRR (a finite rank) even when the target is outside the candidates
    assert (pipeline.per_query["mrr"] > 0).all()
    assert len(pipeline.per_query) == len(result.method("random").per_query) > 250


def test_beauty_views_never_learn_from_or_recommend_what_they_hold_out(beauty_dir: Path) -> None:
    data = load_beauty(beauty_dir / "amazon_beauty")
    config = _beauty_config()
    valid = leave_one_out(data.sequences, "valid")
    sources = BeautySources(config.sources, faiss_depth=10, seed=0).fit(data, valid)
    X = sources.history_
    for row, user in enumerate(valid.users):
        held_out = set(data.sequences[user][-2:].tolist())  # validation and test items
        assert not held_out & set(X[row].indices.tolist())
    result = CandidateBuilder(sources, eval_k=10).run(data, valid, "test")
    groups = result.groups
    for g in range(groups.users.size):
        candidates = set(groups.items[groups.offsets[g] : groups.offsets[g + 1]].tolist())
        assert not candidates & set(valid.histories[g].tolist())
        assert not set(result.tops["ease"][g].tolist()) & set(valid.histories[g].tolist())
    assert result.labels.sum() == result.source_hits["union"]


def test_beauty_same_seed_same_metrics(beauty_dir: Path) -> None:
    config = _beauty_config().model_copy(update={"methods": ["popularity", "pipeline"]})
    a = amazon_beauty.run(config, seed=4, data_dir=beauty_dir)
    b = amazon_beauty.run(config, seed=4, data_dir=beauty_dir)
    assert [m.metrics for m in a.methods] == [m.metrics for m in b.methods]


def test_beauty_optional_features_are_named_finite_columns_and_follow_chains(beauty_dir: Path) -> None:
    data = load_beauty(beauty_dir / "amazon_beauty")
    config = _beauty_config()
    features = FeatureConfig(
        recent_positions=5, two_hop=True, walk_steps=3, similar_then_next=True, second_order=True,
        embedding_similarity=True, session_knn=10, attribute_transitions=True, group_relative=True,
    )  # fmt: skip
    view = leave_one_out(data.sequences, "valid")
    sources = BeautySources(config.sources, seed=0).fit(data, view)
    result = CandidateBuilder(sources, chunk_size=64, features=features).run(data, view, "test")
    groups = result.groups
    assert groups.feature_names == features.names() and len(set(groups.feature_names)) == groups.features.shape[1]
    assert groups.features.shape[1] > len(BASE_FEATURES) and np.isfinite(groups.features).all()
    # the items are chains: the target (usually the next item of the chain) gets more two-step walk mass than the
    # other candidates on average
    column = groups.features[:, groups.feature_names.index("two_hop_from_last_3")]
    assert column[result.labels == 1].mean() > column[result.labels == 0].mean()


def test_beauty_reranker_ensemble_trains_one_ranker_per_early_stopping_share(beauty_dir: Path) -> None:
    config = _beauty_config().model_copy(update={"methods": ["popularity", "pipeline"], "reranker_ensemble": 2})
    result = amazon_beauty.run(config, seed=3, data_dir=beauty_dir)
    assert result.method("pipeline").metrics["ndcg@10"] > result.method("popularity").metrics["ndcg@10"] + 0.1
    with pytest.raises(ValueError, match="leave none to train on"):
        amazon_beauty.Config(reranker_ensemble=10, early_stopping_share=0.1)
