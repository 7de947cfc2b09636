"""Full-ranking helpers: masking, tie-breaking, target ranks and metric rows checked by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

from recsys.app.experiments.user_item import fullrank
from recsys.core import metrics


def test_topk_breaks_ties_by_lower_index_and_never_returns_masked_items() -> None:
    scores = np.array([[1.0, 3.0, 3.0, 2.0, 3.0]])
    mask = sp.csr_matrix(np.array([[0, 0, 1, 0, 0]], dtype=np.float32))
    fullrank.apply_mask(scores, mask)
    assert fullrank.topk_rows(scores, 3).tolist() == [[1, 4, 3]]
    # more slots than unmasked items: padded with -1, the masked item never shows up
    assert fullrank.topk_rows(scores, 6).tolist() == [[1, 4, 3, 0, -1, -1]]
    assert fullrank.target_ranks(scores, np.array([2]))[0] == math.inf


@given(
    st.lists(st.integers(0, 4), min_size=8, max_size=8),
    st.lists(st.booleans(), min_size=8, max_size=8),
    st.integers(0, 7),
)
def test_target_rank_is_the_position_in_the_full_top_list(values: list[int], masked: list[bool], target: int) -> None:
    scores = np.array([values], dtype=np.float64)
    scores[0, np.array(masked)] = -np.inf
    rank = fullrank.target_ranks(scores, np.array([target]))[0]
    order = fullrank.topk_rows(scores, 8)[0].tolist()
    if masked[target]:
        assert rank == math.inf and target not in order
    else:
        assert order.index(target) + 1 == rank
        assert metrics.reciprocal_rank([i for i in order if i >= 0], {target}) == pytest.approx(1.0 / rank)


def test_rank_all_gives_the_same_lists_whatever_the_chunk_size() -> None:
    rng = np.random.default_rng(0)
    dense = rng.integers(0, 5, size=(7, 12)).astype(np.float64)
    mask = sp.random(7, 12, density=0.3, random_state=1, format="csr")
    targets = np.array([int(np.flatnonzero(mask[u].toarray()[0] == 0)[0]) for u in range(7)])
    a = fullrank.rank_all(lambda c: dense[c], np.arange(7), mask, 5, targets=targets, chunk_size=2)
    b = fullrank.rank_all(lambda c: dense[c], np.arange(7), mask, 5, targets=targets, chunk_size=100)
    np.testing.assert_array_equal(a.topk, b.topk)
    np.testing.assert_array_equal(a.target_rank, b.target_rank)
    for u in range(7):
        assert not set(a.topk[u]) & set(mask[u].indices)


def test_category_breakdown_counts_held_out_items_found_in_the_top_k() -> None:
    cats = np.array([[1, 0], [1, 0], [0, 1], [0, 1]], dtype=bool)  # items 0,1 in A; 2,3 in B
    topk = np.array([[0, 2], [3, 1]])
    frame = fullrank.category_breakdown(topk, [np.array([0, 3]), np.array([2])], cats, ["A", "B"], k=2)
    frame = frame.set_index("category")
    assert frame.loc["A", "held_out"] == 1 and frame.loc["A", "recall@2"] == 1.0
    assert frame.loc["B", "held_out"] == 2 and frame.loc["B", "found"] == 0
    assert frame["rec_share@2"].sum() == pytest.approx(1.0)


def test_history_matrix_names_the_row_with_a_bad_item() -> None:
    with pytest.raises(ValueError, match="user row 1"):
        fullrank.history_matrix([np.array([0]), np.array([5])], n_items=3)
