"""Score matrices -> per-query frames and summaries."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recsys.app.experiments.evaluation import metrics_at_k, per_query_metrics, rank_items, summarise


def test_rank_items_masks_excluded_items_and_breaks_ties_by_index() -> None:
    scores = np.array([[0.5, 0.9, 0.5, 0.1]])
    exclude = np.array([[False, True, False, False]])
    order = rank_items(scores, exclude=exclude, depth=3)
    assert order.tolist() == [[0, 2, 3]]


def test_per_query_metrics_skips_queries_without_relevant_items() -> None:
    frame = per_query_metrics([[1, 2, 3], [1, 2, 3]], [{2}, set()], ["u1", "u2"], ks=(1, 2), seed=7)
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
    one_seed_means, one_seed_stds = summarise(frame[frame["seed"] == 1])
    assert one_seed_means["ndcg@10"] == pytest.approx(0.5) and one_seed_stds == {}


def test_metrics_at_k_reads_the_cutoff_from_the_name() -> None:
    frame = metrics_at_k({"ndcg@10": 0.3, "ndcg@5": 0.2, "mrr": 0.4})
    assert frame.to_dict("records") == [
        {"k": 5, "metric": "ndcg", "value": 0.2},
        {"k": 10, "metric": "ndcg", "value": 0.3},
    ]
