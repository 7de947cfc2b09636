"""Ranking and exposure metrics: published worked examples on tiny hand-written inputs, plus properties.

Sources of the worked examples:
- DCG/NDCG: Wikipedia "Discounted cumulative gain" (relevances 3,2,3,0,1,2; two more documents with 3 and 2):
  DCG6 = 6.861, IDCG6 = 8.740, nDCG6 = 0.785 (the same case is in microsoft/recommenders' tests).
- NDCG/recall/MAP on three users: microsoft/recommenders, tests/unit/recommenders/evaluation/
  test_python_evaluation.py with the rating_true / rating_pred fixtures of its conftest.py: ndcg@10 = 0.38172,
  recall@10 = 0.37777, map@10 = 0.23613 (the top-10 lists below are those fixtures sorted by prediction).
- MRR: Wikipedia "Mean reciprocal rank" (cat/torus/virus: ranks 3, 2, 1) = 11/18.
- AUC: scikit-learn's roc_auc_score docs example (0.75) and roc_auc_score itself.
- Catalogue coverage: recommenders' catalog_coverage test (items 1..5, recommended {1, 2, 3, 5}) = 0.8.
- Gini: the mean-absolute-difference definition G = sum_i sum_j |x_i - x_j| / (2 n^2 mean), by hand.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

from recsys.core import metrics

TOL = 1e-4

# microsoft/recommenders fixture, per user: top-10 list by prediction, and the items in rating_true.
RECOMMENDERS_USERS = [
    ([3, 10, 12], {3, 1, 2}),
    ([10, 3, 5, 11, 13], {1, 4, 5, 6, 7}),
    ([4, 10, 7, 13, 1, 3, 5, 2, 11, 14], {2, 5, 6, 8, 9, 10, 11, 12, 13, 14}),
]


# ---------------------------------------------------------------- worked examples


def test_dcg_and_ndcg_match_wikipedia_example() -> None:
    relevance = {0: 3, 1: 2, 2: 3, 3: 0, 4: 1, 5: 2, 6: 3, 7: 2}  # D7, D8 are the two unranked documents
    ranked = [0, 1, 2, 3, 4, 5]
    assert metrics.dcg_at_k([relevance[i] for i in ranked], 6) == pytest.approx(6.861, abs=1e-3)
    assert metrics.dcg_at_k(sorted(relevance.values(), reverse=True), 6) == pytest.approx(8.740, abs=1e-3)
    assert metrics.ndcg_at_k(ranked, relevance, 6) == pytest.approx(0.785, abs=5e-4)


def test_ndcg_recall_map_match_recommenders_three_users() -> None:
    ndcg = np.mean([metrics.ndcg_at_k(r, rel, 10) for r, rel in RECOMMENDERS_USERS])
    recall = np.mean([metrics.recall_at_k(r, rel, 10) for r, rel in RECOMMENDERS_USERS])
    mean_ap = np.mean([metrics.average_precision(r, rel, 10) for r, rel in RECOMMENDERS_USERS])
    assert ndcg == pytest.approx(0.38172, rel=TOL)
    assert recall == pytest.approx(0.37777, rel=TOL)
    assert mean_ap == pytest.approx(0.23613, rel=TOL)


def test_average_precision_by_hand() -> None:
    # hits at ranks 1 and 3 of two relevant items: (1/1 + 2/3) / 2
    assert metrics.average_precision(["a", "x", "b", "y"], {"a", "b"}) == pytest.approx(5 / 6)
    # at k=2 only "a" is found; divided by min(k, n_relevant) = 2
    assert metrics.average_precision(["a", "x", "b", "y"], {"a", "b"}, k=2) == pytest.approx(0.5)
    # a relevant item never ranked still counts in the denominator
    assert metrics.average_precision(["a"], {"a", "b", "c"}) == pytest.approx(1 / 3)


def test_recall_and_hit_rate_by_hand() -> None:
    ranked = ["x", "y", "a", "z", "b"]
    relevant = {"a", "b", "c", "d"}
    assert metrics.recall_at_k(ranked, relevant, 2) == 0.0
    assert metrics.recall_at_k(ranked, relevant, 3) == pytest.approx(0.25)
    assert metrics.recall_at_k(ranked, relevant, 5) == pytest.approx(0.5)
    assert metrics.hit_rate_at_k(ranked, relevant, 2) == 0.0
    assert metrics.hit_rate_at_k(ranked, relevant, 3) == 1.0


def test_mrr_matches_wikipedia_example() -> None:
    queries = [
        (["catten", "cati", "cats"], {"cats"}),
        (["torii", "tori", "toruses"], {"tori"}),
        (["viruses", "virii", "viri"], {"viruses"}),
    ]
    mrr = np.mean([metrics.reciprocal_rank(r, rel) for r, rel in queries])
    assert mrr == pytest.approx(11 / 18)
    assert metrics.reciprocal_rank(["a", "b"], {"c"}) == 0.0


def test_first_relevant_rank_for_median_rank() -> None:
    assert metrics.first_relevant_rank(["x", "a", "b"], {"b", "a"}) == 2.0
    assert metrics.first_relevant_rank(["x"], {"a"}) == math.inf


def test_auc_matches_sklearn_docs_example() -> None:
    assert metrics.auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == pytest.approx(0.75)
    # ties count half: one positive tied with one negative
    assert metrics.auc([0.5, 0.5], [1, 0]) == pytest.approx(0.5)
    assert math.isnan(metrics.auc([0.1, 0.2], [1, 1]))


def test_catalogue_coverage_matches_recommenders_example() -> None:
    lists = [[3, 5], [2, 5], [1, 2]]
    assert metrics.catalogue_coverage(lists, catalogue_size=5) == pytest.approx(0.8)
    with pytest.raises(ValueError, match="catalogue_size"):
        metrics.catalogue_coverage(lists, 0)


def test_gini_by_mean_absolute_difference() -> None:
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    by_definition = np.abs(x[:, None] - x[None, :]).sum() / (2 * x.size**2 * x.mean())
    assert by_definition == pytest.approx(4 / 15)
    assert metrics.gini(x) == pytest.approx(4 / 15)
    assert metrics.gini([0, 0, 0, 7]) == pytest.approx(0.75)  # all on one of n items: (n - 1) / n
    assert metrics.gini([0, 0]) == 0.0
    with pytest.raises(ValueError, match="non-negative"):
        metrics.gini([1, -1])


def test_exposure_counts_and_long_tail_share_by_hand() -> None:
    lists = [["a", "b"], ["a", "c"], ["a", "zz"]]  # "zz" is not in the catalogue
    assert metrics.exposure_counts(lists, ["a", "b", "c", "d"]).tolist() == [3, 1, 1, 0]
    # 6 slots, 3 taken by the head item "a"
    assert metrics.long_tail_share(lists, head_items={"a"}) == pytest.approx(0.5)
    assert math.isnan(metrics.long_tail_share([], {"a"}))


def test_head_items_by_popularity_takes_the_top_share() -> None:
    popularity = {"a": 10, "b": 1, "c": 5, "d": 1, "e": 0}
    assert metrics.head_items_by_popularity(popularity, 0.4) == {"a", "c"}
    assert metrics.head_items_by_popularity(popularity, 0.01) == {"a"}  # at least one item
    with pytest.raises(ValueError, match="head_share"):
        metrics.head_items_by_popularity(popularity, 0)


def test_lorenz_curve_by_hand() -> None:
    x, y = metrics.lorenz_curve([2, 1, 1])
    assert x.tolist() == pytest.approx([0, 1 / 3, 2 / 3, 1])
    assert y.tolist() == pytest.approx([0, 0.25, 0.5, 1.0])


def test_metrics_need_a_positive_cutoff_and_something_relevant() -> None:
    with pytest.raises(ValueError, match="k must be"):
        metrics.ndcg_at_k(["a"], {"a"}, 0)
    assert math.isnan(metrics.ndcg_at_k(["a"], {}, 5))
    assert math.isnan(metrics.recall_at_k(["a"], {"b": 0.0}, 5))  # zero gain is not relevant


# ---------------------------------------------------------------- properties

ITEMS = st.integers(min_value=0, max_value=30)
RANKED = st.lists(ITEMS, unique=True, min_size=0, max_size=31)
RELEVANT = st.dictionaries(ITEMS, st.floats(min_value=0.1, max_value=10.0), min_size=1, max_size=12)
K = st.integers(min_value=1, max_value=40)


@given(RANKED, RELEVANT, K)
def test_ranking_metrics_are_in_unit_interval(ranked: list[int], relevant: dict[int, float], k: int) -> None:
    for value in (
        metrics.ndcg_at_k(ranked, relevant, k),
        metrics.recall_at_k(ranked, relevant, k),
        metrics.hit_rate_at_k(ranked, relevant, k),
        metrics.reciprocal_rank(ranked, relevant),
        metrics.average_precision(ranked, relevant, k),
        metrics.average_precision(ranked, relevant),
    ):
        assert 0.0 <= value <= 1.0 + 1e-12


@given(RELEVANT, K)
def test_perfect_ranking_scores_one(relevant: dict[int, float], k: int) -> None:
    ideal = sorted(relevant, key=lambda i: -relevant[i])
    assert metrics.ndcg_at_k(ideal, relevant, k) == pytest.approx(1.0)
    assert metrics.recall_at_k(ideal, relevant, len(ideal)) == 1.0
    assert metrics.hit_rate_at_k(ideal, relevant, k) == 1.0
    assert metrics.reciprocal_rank(ideal, relevant) == 1.0
    assert metrics.average_precision(ideal, relevant, k) == pytest.approx(1.0)


@given(RANKED, RELEVANT, K, st.floats(min_value=0.01, max_value=100.0))
def test_ndcg_is_invariant_to_scaling_gains(
    ranked: list[int], relevant: dict[int, float], k: int, scale: float
) -> None:
    scaled = {i: g * scale for i, g in relevant.items()}
    assert metrics.ndcg_at_k(ranked, scaled, k) == pytest.approx(metrics.ndcg_at_k(ranked, relevant, k))


@given(RANKED, RELEVANT, K)
def test_recall_and_hit_rate_are_monotone_in_k(ranked: list[int], relevant: dict[int, float], k: int) -> None:
    assert metrics.recall_at_k(ranked, relevant, k) <= metrics.recall_at_k(ranked, relevant, k + 1)
    assert metrics.hit_rate_at_k(ranked, relevant, k) <= metrics.hit_rate_at_k(ranked, relevant, k + 1)
    assert metrics.hit_rate_at_k(ranked, relevant, k) >= metrics.recall_at_k(ranked, relevant, k)


SCORED = st.lists(
    st.tuples(st.integers(min_value=-5, max_value=5).map(float), st.booleans()), min_size=2, max_size=40
).filter(lambda rows: 0 < sum(label for _, label in rows) < len(rows))


@given(SCORED)
def test_auc_agrees_with_sklearn_and_flips_with_the_scores(rows: list[tuple[float, bool]]) -> None:
    scores = np.array([s for s, _ in rows])
    labels = np.array([int(label) for _, label in rows])
    value = metrics.auc(scores, labels)
    assert value == pytest.approx(roc_auc_score(labels, scores))
    assert metrics.auc(-scores, labels) == pytest.approx(1.0 - value)
    assert 0.0 <= value <= 1.0


VALUES = st.lists(st.floats(min_value=0.0, max_value=1e6), min_size=1, max_size=50)


@given(st.floats(min_value=0.0, max_value=1e6), st.integers(min_value=1, max_value=50))
def test_gini_of_equal_values_is_zero(value: float, n: int) -> None:
    assert metrics.gini([value] * n) == pytest.approx(0.0, abs=1e-9)


@given(VALUES, st.randoms(use_true_random=False))
def test_gini_is_permutation_invariant_and_bounded(values: list[float], random) -> None:  # type: ignore[no-untyped-def]
    shuffled = list(values)
    random.shuffle(shuffled)
    g = metrics.gini(values)
    assert metrics.gini(shuffled) == pytest.approx(g, abs=1e-9)
    assert -1e-9 <= g < 1.0


@given(VALUES)
def test_gini_is_twice_the_area_between_diagonal_and_lorenz_curve(values: list[float]) -> None:
    x, y = metrics.lorenz_curve(values)
    area_under = float(np.sum((y[1:] + y[:-1]) / 2 * np.diff(x)))
    assert metrics.gini(values) == pytest.approx(1.0 - 2.0 * area_under, abs=1e-9)


@given(st.lists(st.lists(ITEMS, max_size=10), max_size=20))
def test_coverage_is_in_unit_interval(lists: list[list[int]]) -> None:
    assert 0.0 <= metrics.catalogue_coverage(lists, catalogue_size=31) <= 1.0
