from __future__ import annotations

import numpy as np

from models.ranker import LambdaRanker, grade_by_quantiles
from recsys.metrics import ndcg_at_k


def _groups(seed: int, n_queries: int = 120, size: int = 20) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_queries * size, 4))
    utility = 2 * X[:, 0] - X[:, 1] + 0.3 * rng.normal(size=len(X))
    y, _ = grade_by_quantiles(np.maximum(utility, 0), 4)
    return X, y, np.full(n_queries, size)


def test_grades_are_zero_for_non_positive_and_rise_with_value() -> None:
    labels, edges = grade_by_quantiles(np.array([0.0, -1.0, 1.0, 2.0, 3.0, 4.0]), 2)
    assert labels.tolist() == [0, 0, 1, 1, 2, 2]
    again, _ = grade_by_quantiles(np.array([10.0]), 2, edges)
    assert again.tolist() == [2]


def test_ranker_learns_the_utility_and_roundtrips(tmp_path) -> None:
    X, y, g = _groups(0)
    Xv, yv, gv = _groups(1)
    model = LambdaRanker(n_estimators=200, seed=3).fit(X, y, g, ["a", "b", "c", "d"], Xv, yv, gv)
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
