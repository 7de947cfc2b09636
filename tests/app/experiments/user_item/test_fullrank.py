"""Full-ranking helpers: masking, tie-breaking, target ranks and metric rows checked by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

from recsys.app.experiments import fullrank
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


def test_metric_rows_follow_recboles_definitions_on_a_hand_checked_list() -> None:
    # test items {10, 11, 12}; the list finds 10 at rank 1 and 12 at rank 4
    topk = np.array([[10, 20, 21, 12, 22, 23, 24, 25, 26, 27]])
    frame = fullrank.metric_rows(topk, [np.array([10, 11, 12])], ["u1"], [1, 10])
    row = frame.iloc[0]
    idcg = 1 + 1 / math.log2(3) + 1 / math.log2(4)  # min(|test|, 10) = 3 ideal hits
    assert row["ndcg@10"] == pytest.approx((1 + 1 / math.log2(5)) / idcg)
    assert row["recall@10"] == pytest.approx(2 / 3)
    assert row["hr@10"] == 1.0 and row["mrr@10"] == 1.0
    assert row["ndcg@1"] == 1.0 and row["recall@1"] == pytest.approx(1 / 3)
    # a user with nothing held out is not a query
    assert len(fullrank.metric_rows(topk, [np.array([], dtype=int)], ["u2"], [10])) == 0


def test_leave_one_out_mrr_is_one_over_the_full_rank() -> None:
    topk = np.array([[5, 6, 7]])
    frame = fullrank.metric_rows(topk, [np.array([9])], ["u"], [3], ("hr", "ndcg"), target_rank=np.array([40.0]))
    assert frame.loc[0, "hr@3"] == 0.0 and frame.loc[0, "mrr"] == pytest.approx(1 / 40)


def test_summarize_reports_mean_and_sample_std_of_per_seed_means() -> None:
    a = pd.DataFrame({"query": [1, 2], "ndcg@10": [0.2, 0.4], "ndcg@5": [0.1, 0.1]})
    b = pd.DataFrame({"query": [1, 2], "ndcg@10": [0.5, 0.7], "ndcg@5": [0.3, 0.3]})
    result = fullrank.summarize("m", [a, b], ["ndcg@10"], [1, 2])
    assert result.metrics["ndcg@10"] == pytest.approx(0.45)
    assert result.metrics_std["ndcg@10"] == pytest.approx(np.std([0.3, 0.6], ddof=1))
    assert list(result.per_query.columns) == ["query", "seed", "ndcg@10"] and len(result.per_query) == 4
    at_k = result.metrics_at_k.set_index("k")["value"]
    assert at_k[5] == pytest.approx(0.2) and at_k[10] == pytest.approx(0.45)


def test_category_breakdown_counts_held_out_items_found_in_the_top_k() -> None:
    cats = np.array([[1, 0], [1, 0], [0, 1], [0, 1]], dtype=bool)  # items 0,1 in A; 2,3 in B
    topk = np.array([[0, 2], [3, 1]])
    frame = fullrank.category_breakdown(topk, [np.array([0, 3]), np.array([2])], cats, ["A", "B"], k=2)
    frame = frame.set_index("category")
    assert frame.loc["A", "held_out"] == 1 and frame.loc["A", "recall@2"] == 1.0
    assert frame.loc["B", "held_out"] == 2 and frame.loc["B", "found"] == 0
    assert frame["rec_share@2"].sum() == pytest.approx(1.0)


def test_exposure_counts_appearances_in_the_top_k() -> None:
    assert fullrank.exposure(np.array([[0, 1, 2], [1, -1, 0]]), 4, k=2).tolist() == [1, 2, 0, 0]


def test_exposure_summary_reports_coverage_and_gini_of_the_top_k() -> None:
    summary = fullrank.exposure_summary(np.array([[0, 1, 3], [0, -1, 2]]), 4, k=2)
    assert summary["coverage@2"] == 0.5  # items 0 and 1 are shown, 2 and 3 only below the cut-off
    assert summary["gini@2"] == pytest.approx(metrics.gini([2, 1, 0, 0]))
    even = fullrank.exposure_summary(np.array([[0, 1], [2, 3]]), 4, k=2)
    assert even == {"coverage@2": 1.0, "gini@2": 0.0}


def test_history_matrix_names_the_row_with_a_bad_item() -> None:
    with pytest.raises(ValueError, match="user row 1"):
        fullrank.history_matrix([np.array([0]), np.array([5])], n_items=3)
