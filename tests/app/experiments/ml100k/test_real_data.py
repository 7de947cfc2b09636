"""Smoke test on the real shared ml-100k data (skipped when ../shared/data is absent): a small user sample, every
method, metrics in range. The full protocol runs with ``recsys experiment`` (see docs/user_item_results.md)."""

from __future__ import annotations

import pytest

from recsys.app.experiments.ml100k import experiment as ml100k
from recsys.app.experiments.user_item.rerank import RerankConfig
from recsys.core.config import Settings

DATA = Settings().shared_data_dir.resolve()
FAST_RANKER = RerankConfig(num_leaves=7, min_data_in_leaf=50, n_estimators=40, early_stopping_rounds=10)


@pytest.mark.slow
@pytest.mark.skipif(not (DATA / "ml-100k" / "ml-100k.inter").is_file(), reason=f"no ml-100k under {DATA}")
def test_ml100k_sample_runs_every_method() -> None:
    config = ml100k.Config(max_users=120, n_seeds=1, ranker_folds=1, n_candidates=100, rerank=FAST_RANKER)
    result = ml100k.run(config, seed=0, data_dir=DATA)
    by_name = {m.name: m.metrics["ndcg@10"] for m in result.methods}
    assert set(by_name) == set(ml100k.METHODS)
    assert all(0.0 <= v <= 1.0 for v in by_name.values())
    assert by_name["retrieval-only"] > by_name["popularity"] > by_name["random"]
