"""Id <-> row lookups."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from recsys.core.vocab import Vocabulary, find_sorted, take_rows


@given(st.sets(st.integers(0, 200)), st.lists(st.integers(-5, 210), max_size=60))
def test_find_sorted_agrees_with_a_dictionary(keys: set[int], wanted: list[int]) -> None:
    sorted_keys = np.array(sorted(keys), dtype=np.int64)
    position = {k: i for i, k in enumerate(sorted_keys.tolist())}
    pos, hit = find_sorted(sorted_keys, np.array(wanted, dtype=np.int64))
    assert hit.tolist() == [w in position for w in wanted]
    assert [int(p) for p, h in zip(pos, hit, strict=True) if h] == [position[w] for w in wanted if w in position]


def test_vocabulary_maps_ids_to_rows_and_back() -> None:
    vocab = Vocabulary(["c9", "c1", "c5"])
    assert vocab.row("c1") == 1 and vocab.id(2) == "c5"
    assert vocab.rows(["c5", "nope"]).tolist() == [2, -1]
    assert "c9" in vocab and len(vocab) == 3


def test_sorted_unique_is_numpys_unique() -> None:
    from recsys.core.vocab import sorted_unique

    assert sorted_unique(np.array([5, 3, 5, 9, 3, 3])).tolist() == [3, 5, 9]
    assert sorted_unique(np.array([], np.int64)).tolist() == [] and sorted_unique(np.array([4])).tolist() == [4]
    values = np.random.default_rng(1).integers(0, 1_000, 5_000)
    assert np.array_equal(sorted_unique(values), np.unique(values))


def test_union_sorted_inserts_only_what_is_new_and_keeps_the_array_when_nothing_is() -> None:
    from recsys.core.vocab import union_sorted

    keys = np.array([2, 5, 9], np.int64)
    assert union_sorted(keys, np.array([9, 1, 7, 1])).tolist() == [1, 2, 5, 7, 9]
    assert union_sorted(keys, np.array([5, 2])) is keys  # nothing new: the same (possibly memory-mapped) array
    assert union_sorted(keys, np.array([], np.int64)) is keys
    assert union_sorted(np.array([], np.int64), np.array([3, 3])).tolist() == [3]


def test_take_rows_gives_the_indexed_rows_of_either_memory_order() -> None:
    table = np.arange(24, dtype=np.float32).reshape(6, 4)
    rows = np.array([5, 0, 5, 2])
    expected = [[20, 21, 22, 23], [0, 1, 2, 3], [20, 21, 22, 23], [8, 9, 10, 11]]
    for layout in (table, np.asfortranarray(table)):
        out = take_rows(layout, rows)
        assert out.tolist() == expected and out.dtype == np.float32
