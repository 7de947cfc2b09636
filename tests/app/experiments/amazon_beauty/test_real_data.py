"""Smoke test on the real shared Amazon Beauty data (skipped when ../shared/data is absent): a small user sample,
every method, metrics in range. The full protocol runs with ``recsys experiment`` (see docs/user_item_results.md)."""

from __future__ import annotations

import pytest

from recsys.app.experiments.amazon_beauty import experiment as amazon_beauty
from recsys.app.experiments.amazon_beauty.sources import SourcesConfig
from recsys.app.experiments.user_item.baselines import CFSettings
from recsys.app.experiments.user_item.rerank import RerankConfig
from recsys.core.config import Settings

DATA = Settings().shared_data_dir.resolve()
FAST_RANKER = RerankConfig(num_leaves=7, min_data_in_leaf=50, n_estimators=40, early_stopping_rounds=10)


@pytest.mark.slow
@pytest.mark.skipif(not (DATA / "amazon_beauty" / "Beauty.txt").is_file(), reason=f"no amazon_beauty under {DATA}")
def test_beauty_sample_runs_every_method() -> None:
    sources = SourcesConfig(per_source=30, popular=10, cf=CFSettings(als_factors=16, ease_l2=50.0))
    config = amazon_beauty.Config(max_users=800, sources=sources, rerank=FAST_RANKER)
    result = amazon_beauty.run(config, seed=0, data_dir=DATA)
    by_name = {m.name: m.metrics["hr@20"] for m in result.methods}
    assert set(by_name) == set(amazon_beauty.METHODS)
    assert all(0.0 <= v <= 1.0 for v in by_name.values())
    assert by_name["candidates"] > by_name["random"]
    assert 0 < result.extra_metrics["candidate_recall_union"] <= 1
