"""ml-100k files and RecBole's random split: sizes by RecBole's rounding, no leakage, clear errors; on tiny
hand-made files in the shared data format."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from recsys.app.experiments.ml100k.movielens import load_movielens, random_split, recbole_counts
from tests.app.experiments.user_item_data import write_movielens


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
