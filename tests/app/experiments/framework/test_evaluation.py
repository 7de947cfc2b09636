"""The one evaluation path: score matrices and ranked lists -> per-query frames -> summaries, on hand-checked values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from recsys.app.experiments.framework.evaluation import (
    exposure,
    list_metrics,
    method_result,
    metric_rows,
    metrics_at_k,
    rank_items,
    summarise,
)
from recsys.core import metrics


def test_rank_items_masks_excluded_items_and_breaks_ties_by_index() -> None:
    scores = np.array([[0.5, 0.9, 0.5, 0.1]])
    exclude = np.array([[False, True, False, False]])
    order = rank_items(scores, exclude=exclude, depth=3)
    assert order.tolist() == [[0, 2, 3]]


def test_metric_rows_skip_queries_without_relevant_items_and_give_the_full_list_mrr() -> None:
    frame = metric_rows([[1, 2, 3], [1, 2, 3]], [{2}, set()], ["u1", "u2"], ks=(1, 2), seed=7, full_list_mrr=True)
    assert frame["query"].tolist() == ["u1"]
    row = frame.iloc[0]
    assert row["seed"] == 7
    assert row["hr@1"] == 0.0 and row["hr@2"] == 1.0
    assert row["mrr"] == pytest.approx(0.5)
    assert row["ndcg@2"] == pytest.approx(1 / np.log2(3))


def test_summarise_averages_per_seed_means_and_reports_their_std() -> None:
    frame = pd.DataFrame(
        {
            "query": ["a", "b", "a", "b"],
            "seed": [1, 1, 2, 2],
            "ndcg@10": [0.0, 1.0, 1.0, 1.0],
        }
    )
    means, stds = summarise(frame)
    # per-seed means 0.5 and 1.0 -> mean 0.75, sample std 0.3536
    assert means["ndcg@10"] == pytest.approx(0.75)
    assert stds["ndcg@10"] == pytest.approx(np.std([0.5, 1.0], ddof=1))
    list_means, list_stds = summarise([frame[frame["seed"] == 1], frame[frame["seed"] == 2]])
    assert list_means == means and list_stds == stds
    one_seed_means, one_seed_stds = summarise(frame[frame["seed"] == 1])
    assert one_seed_means["ndcg@10"] == pytest.approx(0.5) and one_seed_stds == {}


def test_metrics_at_k_reads_the_cutoff_from_the_name() -> None:
    frame = metrics_at_k({"ndcg@10": 0.3, "ndcg@5": 0.2, "mrr": 0.4})
    assert frame.to_dict("records") == [
        {"k": 5, "metric": "ndcg", "value": 0.2},
        {"k": 10, "metric": "ndcg", "value": 0.3},
    ]


def test_metric_rows_follow_recboles_definitions_on_a_hand_checked_list() -> None:
    # test items {10, 11, 12}; the list finds 10 at rank 1 and 12 at rank 4
    topk = np.array([[10, 20, 21, 12, 22, 23, 24, 25, 26, 27]])
    frame = metric_rows(topk, [np.array([10, 11, 12])], ["u1"], [1, 10])
    row = frame.iloc[0]
    idcg = 1 + 1 / math.log2(3) + 1 / math.log2(4)  # min(|test|, 10) = 3 ideal hits
    assert row["ndcg@10"] == pytest.approx((1 + 1 / math.log2(5)) / idcg)
    assert row["recall@10"] == pytest.approx(2 / 3)
    assert row["hr@10"] == 1.0 and row["mrr@10"] == 1.0
    assert row["ndcg@1"] == 1.0 and row["recall@1"] == pytest.approx(1 / 3)
    # a user with nothing held out is not a query
    assert len(metric_rows(topk, [np.array([], dtype=int)], ["u2"], [10])) == 0


def test_leave_one_out_mrr_is_one_over_the_full_rank() -> None:
    topk = np.array([[5, 6, 7]])
    frame = metric_rows(topk, [np.array([9])], ["u"], [3], ("hr", "ndcg"), target_rank=np.array([40.0]))
    assert frame.loc[0, "hr@3"] == 0.0 and frame.loc[0, "mrr"] == pytest.approx(1 / 40)


def test_method_result_reports_mean_and_sample_std_of_per_seed_means() -> None:
    a = pd.DataFrame({"query": [1, 2], "ndcg@10": [0.2, 0.4], "ndcg@5": [0.1, 0.1]})
    b = pd.DataFrame({"query": [1, 2], "ndcg@10": [0.5, 0.7], "ndcg@5": [0.3, 0.3]})
    result = method_result("m", [a, b], ["ndcg@10"], [1, 2])
    assert result.metrics["ndcg@10"] == pytest.approx(0.45)
    assert result.metrics_std["ndcg@10"] == pytest.approx(np.std([0.3, 0.6], ddof=1))
    assert list(result.per_query.columns) == ["query", "seed", "ndcg@10"] and len(result.per_query) == 4
    at_k = result.metrics_at_k.set_index("k")["value"]
    assert at_k[5] == pytest.approx(0.2) and at_k[10] == pytest.approx(0.45)


def test_exposure_counts_appearances_in_the_top_k() -> None:
    assert exposure(np.array([[0, 1, 2], [1, -1, 0]]), 4, k=2).tolist() == [1, 2, 0, 0]


def test_list_metrics_report_coverage_and_gini_of_the_top_k() -> None:
    summary, counts = list_metrics(np.array([[0, 1, 3], [0, -1, 2]]), 4, k=2)
    assert summary["coverage@2"] == 0.5  # items 0 and 1 are shown, 2 and 3 only below the cut-off
    assert summary["gini@2"] == pytest.approx(metrics.gini([2, 1, 0, 0]))
    assert counts.tolist() == [2, 1, 0, 0]
    even, _ = list_metrics(np.array([[0, 1], [2, 3]]), 4, k=2, head_items={0, 1})
    assert even == {"coverage@2": 1.0, "gini@2": 0.0, "long_tail@2": 0.5}
