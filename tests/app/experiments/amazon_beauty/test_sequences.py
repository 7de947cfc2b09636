"""Amazon Beauty sequences: leave-one-out views without leakage and next-item transitions, on tiny hand-made
files in the shared data format."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from recsys.app.experiments.amazon_beauty.sequences import leave_one_out, load_beauty, transition_matrix, triple_counts
from tests.app.experiments.user_item_data import write_beauty


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


def test_transitions_count_next_items_only() -> None:
    T = transition_matrix([np.array([0, 1, 2]), np.array([0, 1])], 3)
    assert T.toarray().tolist() == [[0, 2, 0], [0, 0, 1], [0, 0, 0]]


def test_triple_counts_count_consecutive_triples_only() -> None:
    triples = triple_counts([np.array([0, 1, 2, 3]), np.array([0, 1, 2]), np.array([1, 0])], 4)
    a, b, c = np.array([0, 1, 0, 1, -1]), np.array([1, 2, 2, 0, 1]), np.array([2, 3, 3, 2, 2])
    assert triples.lookup(a, b, c).tolist() == [2.0, 1.0, 0.0, 0.0, 0.0]  # (0, 2, 3) skips an item; -1 = none
