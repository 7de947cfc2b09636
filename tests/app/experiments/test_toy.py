"""The toy adapter behind the built-in `demo` dataset: a framework demo whose baselines order the way a user
would expect."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from recsys.app.experiments import toy
from recsys.app.experiments.framework.rundir import validate_result


def test_demo_baselines_beat_random_and_repeat_exactly() -> None:
    config = toy.Config(n_users=80, n_items=120, n_seeds=2)
    result = toy.run(config, seed=11, data_dir=Path("unused"))
    validate_result(result)
    ndcg = {m.name: m.metrics["ndcg@10"] for m in result.methods}
    assert ndcg["popularity"] > ndcg["random"] and ndcg["item-kNN"] > ndcg["random"]
    knn = result.method("item-kNN")
    assert set(knn.per_query["seed"]) == {11, 12} and "ndcg@10" in knn.metrics_std
    assert knn.exposure is not None and knn.exposure.shape == (120,)
    assert result.method("random").metrics["coverage@10"] > result.method("popularity").metrics["coverage@10"]
    again = toy.run(config, seed=11, data_dir=Path("unused"))
    assert np.array_equal(again.method("item-kNN").per_query["ndcg@10"], knn.per_query["ndcg@10"])
    assert "FRAMEWORK DEMO, not a benchmark" in result.protocol
