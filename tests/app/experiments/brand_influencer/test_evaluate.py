"""Per-brand metrics against hand-computed values, and their aggregation over folds."""

from __future__ import annotations

import numpy as np
import pytest

from recsys.app.experiments.brand_influencer.evaluate import MethodAccumulator, brand_metrics


def test_hand_computed_brand() -> None:
    # ranking by score: c0 (3), c1 (2, positive), c2 (1), c3 (0, positive)
    scores = np.array([[3.0, 2.0, 1.0, 0.0]])
    relevant = np.array([[False, True, False, True]])
    row = brand_metrics(scores, relevant, ["b"]).iloc[0]
    assert row["r@1"] == 0.0 and row["r@5"] == 1.0
    assert row["mrr"] == 0.5 and row["first_relevant_rank"] == 2
    # positive scores 2 and 0 vs negatives 3 and 1: only (2 > 1) of the 4 pairs is ordered right
    assert row["auc"] == pytest.approx(0.25)


def test_brands_without_positives_are_skipped() -> None:
    frame = brand_metrics(np.zeros((2, 3)), np.array([[False] * 3, [True, False, False]]), ["none", "one"])
    assert frame["query"].tolist() == ["one"]


def test_fold_means_medr_std_and_exposure() -> None:
    acc = MethodAccumulator("m", n_creators=6)
    perfect = np.array([[2.0, 1.0, 0.0], [0.0, 1.0, 2.0]])
    rel = np.array([[True, False, False], [False, False, True]])
    acc.add_fold(perfect, rel, ["a", "b"], ["food", "shoes"], pool=np.array([0, 1, 2]))
    worst = np.array([[0.0, 1.0, 2.0]])
    acc.add_fold(worst, np.array([[True, False, False]]), ["c"], ["food"], pool=np.array([3, 4, 5]))
    result = acc.result()
    assert result.metrics["mrr"] == pytest.approx((1.0 + 1 / 3) / 2)  # mean over folds of fold means
    assert result.metrics["medr"] == pytest.approx((1 + 3) / 2)
    assert result.metrics_std["mrr"] == pytest.approx(np.std([1.0, 1 / 3], ddof=1))
    assert result.exposure.tolist() == [2, 2, 2, 1, 1, 1]  # top-10 of a 3-creator pool: in every list
    food = result.per_category.set_index("category").loc["food"]
    assert food["n_queries"] == 2 and food["mrr"] == pytest.approx((1 + 1 / 3) / 2)
    assert set(result.per_query.columns) >= {"query", "r@10", "r@50", "mrr", "auc", "first_relevant_rank"}
    assert set(result.metrics_at_k["k"]) == {1, 5, 10, 20, 50, 100}


def test_cross_brand_normalise_moves_a_shared_favourite_to_its_best_brand() -> None:
    from recsys.app.experiments.brand_influencer.pipeline import cross_brand_normalise

    # creator 0 is everyone's favourite but fits brand 0 far better; creator 1 is brand 1's real match
    scores = np.array([[5.0, 0.0, -1.0], [2.0, 1.9, -1.0], [0.0, -1.0, 3.0]])
    assert np.argmax(scores[1]) == 0
    out = cross_brand_normalise(scores, temperature=0.5)
    assert np.argmax(out[1]) == 1 and np.argmax(out[0]) == 0 and np.argmax(out[2]) == 2
    np.testing.assert_allclose(np.exp(out).sum(axis=1), 1.0, atol=1e-9)  # each brand: a distribution
    masked = cross_brand_normalise(scores, mask=np.array([[1, 1, 0], [1, 1, 1], [0, 1, 1]], dtype=bool))
    assert masked[0, 2] == -np.inf and masked[2, 0] == -np.inf and np.isfinite(masked[1]).all()
