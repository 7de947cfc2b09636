"""Splits without leakage and baseline sanity, on tiny hand-made files in the shared data formats."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from recsys.app.experiments import baselines, fullrank
from recsys.app.experiments.ui_movielens import load_movielens, random_split, recbole_counts
from recsys.app.experiments.ui_sequences import leave_one_out, load_beauty, transition_matrix
from tests.app.experiments.user_item.conftest import write_beauty, write_movielens


@pytest.mark.parametrize(
    ("total", "expected"),
    [(10, [8, 1, 1]), (25, [21, 2, 2]), (5, [3, 1, 1]), (2, [1, 0, 1]), (1, [1, 0, 0])],
)
def test_split_sizes_follow_recboles_rounding(total: int, expected: list[int]) -> None:
    assert recbole_counts(total, (0.8, 0.1, 0.1)) == expected


def test_random_split_partitions_each_users_interactions_and_depends_on_the_seed(movielens_dir: Path) -> None:
    data = load_movielens(movielens_dir / "ml-100k")
    a = random_split(data.user, data.n_users, (0.8, 0.1, 0.1), seed=1)
    again = random_split(data.user, data.n_users, (0.8, 0.1, 0.1), seed=1)
    other = random_split(data.user, data.n_users, (0.8, 0.1, 0.1), seed=2)
    for u in range(data.n_users):
        parts = [a.train[u], a.valid[u], a.test[u]]
        joined = np.concatenate(parts)
        assert np.array_equal(np.sort(joined), np.flatnonzero(data.user == u))  # every row once, only this user's
        assert [p.size for p in parts] == recbole_counts(joined.size, (0.8, 0.1, 0.1))
        np.testing.assert_array_equal(a.test[u], again.test[u])
    assert any(not np.array_equal(a.test[u], other.test[u]) for u in range(data.n_users))


def test_movielens_loader_reads_side_information(tmp_path: Path) -> None:
    write_movielens(tmp_path, [(1, 3, 4.0, 10), (2, 1, 5.0, 20), (2, 3, 1.0, 30)], n_users=2, n_items=3)
    data = load_movielens(tmp_path / "ml-100k")
    assert data.n_users == 2 and data.n_items == 2  # item 2 has no interaction
    assert data.genre_names == ["Comedy", "Horror"] and data.genres.tolist() == [[True, False], [False, True]]
    assert data.gender.tolist() == [0.0, 1.0] and data.year.tolist() == [1991.0, 1993.0]


def test_movielens_loader_names_the_bad_field(tmp_path: Path) -> None:
    folder = write_movielens(tmp_path, [(1, 1, 4.0, 10)], n_users=1, n_items=1)
    header = "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
    (folder / "ml-100k.inter").write_text(header + "1\t1\tfour\t10\n")
    with pytest.raises(ValueError, match=r"row 2, field 'rating'"):
        load_movielens(folder)


def test_leave_one_out_targets_are_the_last_and_second_last_items(tmp_path: Path) -> None:
    write_beauty(tmp_path, [[5, 6, 7, 8], [9, 5, 6], [7, 8]], {5: [1], 6: [1, 2]})
    data = load_beauty(tmp_path / "amazon_beauty")
    raw = data.item_ids
    test, valid = leave_one_out(data.sequences, "test"), leave_one_out(data.sequences, "valid")
    assert test.users.tolist() == [0, 1]  # the 2-item user has no train/valid/test triple
    assert raw[test.targets].tolist() == [8, 6] and raw[valid.targets].tolist() == [7, 5]
    assert [raw[h].tolist() for h in test.histories] == [[5, 6, 7], [9, 5]]
    assert [raw[h].tolist() for h in valid.histories] == [[5, 6], [9]]
    for view in (test, valid):  # a target is never part of the history that is masked / learned from
        assert all(t not in h for t, h in zip(view.targets, view.histories, strict=True))
    assert data.attributes[np.searchsorted(raw, 6)].indices.tolist() == [1, 2]


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


def test_transitions_count_next_items_only() -> None:
    T = transition_matrix([np.array([0, 1, 2]), np.array([0, 1])], 3)
    assert T.toarray().tolist() == [[0, 2, 0], [0, 0, 1], [0, 0, 0]]
