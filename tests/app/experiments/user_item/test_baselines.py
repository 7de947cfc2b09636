"""Baseline sanity of the shared user–item scorers, on tiny hand-made histories."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from recsys.app.experiments.amazon_beauty.sequences import load_beauty
from recsys.app.experiments.user_item import baselines, fullrank
from tests.app.experiments.user_item_data import write_beauty


def test_popularity_ranks_the_most_popular_unseen_item_first(tmp_path: Path) -> None:
    # item 3 is the most popular, then item 2; user 1 has already seen item 3
    write_beauty(tmp_path, [[3, 1, 4], [3, 2, 5], [3, 2, 6], [2, 3, 7]], {})
    data = load_beauty(tmp_path / "amazon_beauty")
    X = fullrank.history_matrix(data.sequences, data.n_items)
    model = baselines.PopularityScorer().fit(X)
    top = fullrank.rank_all(lambda c: model.score(c, X), np.arange(4), X, 2).topk
    raw = data.item_ids
    # 3 is seen by everyone; 2 is next but user 2 and 3 saw it; among the once-seen items ties go to the lower id
    assert raw[top[0]].tolist() == [2, 5]
    assert raw[top[1]].tolist() == [1, 4]
    assert all(3 not in raw[row].tolist() for row in top)


def test_item_based_models_recommend_what_co_occurs_with_the_history() -> None:
    # items 0 and 1 always go together; items 2 and 3 always go together
    X = fullrank.history_matrix([np.array([0, 1]), np.array([0, 1]), np.array([2, 3]), np.array([2, 3])] * 3, 4)
    query = fullrank.history_matrix([np.array([0])], 4)
    for model in (baselines.ItemKNNScorer(10), baselines.EASEScorer(1.0)):
        scores = model.fit(X).score(np.array([0]), query)
        assert int(np.argmax(np.where(query.toarray() > 0, -np.inf, scores)[0])) == 1


def test_als_is_reproducible_for_a_seed_and_random_is_per_user() -> None:
    rng = np.random.default_rng(0)
    X = fullrank.history_matrix([rng.choice(30, 6, replace=False) for _ in range(40)], 30)
    users = np.arange(40)
    a = baselines.ALSScorer(factors=8, seed=3).fit(X).score(users, X)
    b = baselines.ALSScorer(factors=8, seed=3).fit(X).score(users, X)
    np.testing.assert_allclose(a, b)
    rand = baselines.RandomScorer(5).fit(X)
    np.testing.assert_array_equal(rand.score(np.array([7]), X)[0], rand.score(np.array([3, 7]), X)[1])
