"""Id <-> row lookups."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from recsys.core.vocab import Vocabulary, find_sorted


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
