from __future__ import annotations

import numpy as np

from models.gbm.ranker import LambdaRanker
from models.training.windows import label_gains, relevance
from recsys.core.metrics import ndcg_at_k


def _groups(seed: int, n_queries: int = 120, size: int = 20) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_queries * size, 4))
    utility = 2 * X[:, 0] - X[:, 1] + 0.3 * rng.normal(size=len(X))
    y = relevance(np.expm1(np.maximum(utility, 0)), 2.0)
    return X, y, np.full(n_queries, size)


def test_relevance_grades_are_log_bins_whose_gains_are_the_outcomes() -> None:
    labels = relevance(np.array([0.0, -1.0, 0.01, np.e - 1, 1e9]), 2.0)
    assert labels.tolist() == [0, 0, 1, 2, 30]  # any sale is at least grade 1; capped at 30
    gains = label_gains(2.0)
    assert gains[0] == 0 and np.isclose(gains[2], np.e - 1) and len(gains) == 31


def test_ranker_learns_the_utility_and_roundtrips(tmp_path) -> None:
    X, y, g = _groups(0)
    Xv, yv, gv = _groups(1)
    model = LambdaRanker(n_estimators=200, seed=3, label_gain=label_gains(2.0)).fit(
        X, y, g, ["a", "b", "c", "d"], Xv, yv, gv
    )
    scores = model.predict(Xv)
    ndcgs = []
    for q in range(len(gv)):
        block = slice(q * 20, (q + 1) * 20)
        order = np.argsort(-scores[block])
        rel = {i: float(v) for i, v in enumerate(yv[block]) if v > 0}
        ndcgs.append(ndcg_at_k(list(order), rel, 10))
    assert np.nanmean(ndcgs) > 0.8
    model.save(tmp_path / "ranker.txt")
    loaded = LambdaRanker.load(tmp_path / "ranker.txt")
    np.testing.assert_array_equal(loaded.predict(Xv), scores)
    contrib = model.contributions(Xv[:3])
    np.testing.assert_allclose(contrib.sum(axis=1), scores[:3], rtol=1e-6, atol=1e-9)
