"""The global allocation LP: hand-worked optima and prices, and a property test against brute force.

Capacity prices are LP duals, which are not unique when the optimum is degenerate; what every optimal price must
satisfy is checked instead: it lies between what one more unit of that capacity gains and what one unit less loses
(re-solved by hand or by brute force), taken pairs have a non-negative reduced cost (value − prices) and untaken
ones a non-positive one, and the prices' dual objective equals the allocation's value (strong duality).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from models.matching.allocation import Allocation, allocate

INF = math.inf


def _dual_objective(
    c: np.ndarray, p: np.ndarray, value: np.ndarray, creator_cap: np.ndarray, product_cap: np.ndarray, a: Allocation
) -> float:
    """Σ capacity x price (finite capacities) + Σ_e max(0, value_e − price_c − price_p): the LP dual objective at
    the returned prices, with the edge bounds' duals at their best."""
    finite = np.isfinite(product_cap)
    reduced = value - a.creator_price[c] - a.product_price[p]
    return float(
        creator_cap @ a.creator_price + product_cap[finite] @ a.product_price[finite] + np.maximum(reduced, 0.0).sum()
    )


def _taken(c: np.ndarray, p: np.ndarray, a: Allocation) -> set[tuple[int, int]]:
    return {(int(x), int(y)) for x, y in zip(c[a.take], p[a.take], strict=True)}


def test_two_by_two_assignment_beats_greedy_and_prices_its_capacities() -> None:
    # creators A=0, B=1 and products X=0, Y=1, each capacity 1. Values: A–X 5, A–Y 4, B–X 3, B–Y 1.
    # Greedy (best edge first) takes A–X then B–Y = 6; the optimum is A–Y + B–X = 7.
    c, p = np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1])
    value = np.array([5.0, 4.0, 3.0, 1.0])
    caps_c, caps_p = np.array([1.0, 1.0]), np.array([1.0, 1.0])
    a = allocate(c, p, value, caps_c, caps_p)
    assert _taken(c, p, a) == {(0, 1), (1, 0)}
    assert a.value == 7.0
    # price of a capacity ∈ [gain of one more unit, loss of one unit less], re-solved by hand:
    # A: cap 2 -> A–X + A–Y = 9 (+2); cap 0 -> B alone, B–X = 3 (−4)
    assert 2.0 - 1e-6 <= a.creator_price[0] <= 4.0 + 1e-6
    # B: cap 2 -> still 7 (+0); cap 0 -> A–X = 5 (−2)
    assert -1e-9 <= a.creator_price[1] <= 2.0 + 1e-6
    # X: cap 2 -> A–X + B–X = 8 (+1); cap 0 -> A–Y = 4 (−3)
    assert 1.0 - 1e-6 <= a.product_price[0] <= 3.0 + 1e-6
    # Y: cap 2 -> still 7 (+0); cap 0 -> A–X = 5 (−2)
    assert -1e-9 <= a.product_price[1] <= 2.0 + 1e-6
    assert math.isclose(_dual_objective(c, p, value, caps_c, caps_p, a), 7.0, abs_tol=1e-6)


def test_three_by_three_with_one_product_cap_gives_the_scarce_sample_its_price() -> None:
    # creators A=0, B=1, C=2 (capacity 1 each, plus D=3 without edges); products X=0 with ONE sample, Y=1 and Z=2
    # unlimited (plus W=3 without edges). Everyone wants X most:
    #        X   Y   Z
    #   A   10   6   1
    #   B    8   2   7
    #   C    9   3   2
    # Without the cap all three take X (27). With it, one gets X: A–X + B–Z + C–Y = 20 (greedy), B–X + A–Y + C–Y
    # = 17, C–X + A–Y + B–Z = 22 (best: X goes to the creator whose next best option is worst).
    c = np.repeat([0, 1, 2], 3)
    p = np.tile([0, 1, 2], 3)
    value = np.array([10, 6, 1, 8, 2, 7, 9, 3, 2], dtype=float)
    caps_c = np.array([1.0, 1.0, 1.0, 1.0])
    caps_p = np.array([1.0, INF, INF, 5.0])
    a = allocate(c, p, value, caps_c, caps_p)
    assert _taken(c, p, a) == {(2, 0), (0, 1), (1, 2)}
    assert a.value == 22.0
    # X: a second sample -> A–X + C–X + B–Z = 26 (+4); none -> A–Y + B–Z + C–Y = 16 (−6)
    assert 4.0 - 1e-6 <= a.product_price[0] <= 6.0 + 1e-6
    assert a.product_price[1] == 0.0 and a.product_price[2] == 0.0  # unlimited: never scarce
    assert a.product_price[3] == 0.0 and a.creator_price[3] == 0.0  # not in the graph
    # A: cap 2 -> A–X + A–Y + B–Z + C–Y = 26 (+4); cap 0 -> C–X + B–Z = 16 (−6)
    assert 4.0 - 1e-6 <= a.creator_price[0] <= 6.0 + 1e-6
    # B: cap 2 -> C–X + A–Y + B–Z + B–Y = 24 (+2); cap 0 -> C–X + A–Y = 15 (−7)
    assert 2.0 - 1e-6 <= a.creator_price[1] <= 7.0 + 1e-6
    # C: cap 2 -> C–X + C–Y + A–Y + B–Z = 25 (+3); cap 0 -> A–X + B–Z = 17 (−5)
    assert 3.0 - 1e-6 <= a.creator_price[2] <= 5.0 + 1e-6
    assert math.isclose(_dual_objective(c, p, value, caps_c, caps_p, a), 22.0, abs_tol=1e-6)


def _brute_force(
    c: np.ndarray, p: np.ndarray, value: np.ndarray, creator_cap: np.ndarray, product_cap: np.ndarray
) -> float:
    """The best total value over every subset of edges that fits the capacities."""
    best = 0.0
    for mask in itertools.product((False, True), repeat=len(c)):
        chosen = np.array(mask, dtype=bool)
        if np.any(np.bincount(c[chosen], minlength=len(creator_cap)) > creator_cap):
            continue
        if np.any(np.bincount(p[chosen], minlength=len(product_cap)) > product_cap):
            continue
        best = max(best, float(value[chosen].sum()))
    return best


@st.composite
def graphs(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    n_c, n_p = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    pairs = draw(st.lists(st.tuples(st.integers(0, n_c - 1), st.integers(0, n_p - 1)), max_size=8, unique=True))
    value = draw(st.lists(st.integers(-3, 20), min_size=len(pairs), max_size=len(pairs)))
    creator_cap = draw(st.lists(st.integers(0, 2), min_size=n_c, max_size=n_c))
    product_cap = draw(st.lists(st.one_of(st.integers(0, 2), st.just(-1)), min_size=n_p, max_size=n_p))
    return (
        np.array([x for x, _ in pairs], dtype=np.int64),
        np.array([y for _, y in pairs], dtype=np.int64),
        np.array(value, dtype=float),
        np.array(creator_cap, dtype=float),
        np.array([INF if x < 0 else x for x in product_cap], dtype=float),
    )


@given(graphs())
def test_allocation_matches_brute_force_and_its_prices_are_optimal_duals(
    graph: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray],
) -> None:
    c, p, value, creator_cap, product_cap = graph
    a = allocate(c, p, value, creator_cap, product_cap)
    best = _brute_force(c, p, value, creator_cap, product_cap)
    assert math.isclose(a.value, best, abs_tol=1e-6)
    # the edges taken fit the capacities, have positive value and sum to the reported value
    assert not np.any(np.bincount(c[a.take], minlength=len(creator_cap)) > creator_cap)
    assert not np.any(np.bincount(p[a.take], minlength=len(product_cap)) > product_cap)
    assert np.all(value[a.take] > 0)
    assert math.isclose(float(value[a.take].sum()), a.value, abs_tol=1e-9)
    # prices: non-negative, zero for unlimited products, optimal duals (reduced-cost signs, strong duality)
    assert np.all(a.creator_price >= 0) and np.all(a.product_price >= 0)
    assert np.all(a.product_price[~np.isfinite(product_cap)] == 0)
    reduced = value - a.creator_price[c] - a.product_price[p]
    assert np.all(reduced[a.take] >= -1e-6) and np.all(reduced[~a.take] <= 1e-6)
    assert math.isclose(_dual_objective(c, p, value, creator_cap, product_cap, a), best, abs_tol=1e-5)
    # each price lies between the gain of one more unit of its capacity and the loss of one unit less
    for caps, prices, side in ((creator_cap, a.creator_price, "creator"), (product_cap, a.product_price, "product")):
        for row in np.flatnonzero(np.isfinite(caps)):
            more, less = caps.copy(), caps.copy()
            more[row] += 1
            less[row] -= 1
            args = (more, product_cap) if side == "creator" else (creator_cap, more)
            gain = _brute_force(c, p, value, *args) - best
            assert prices[row] >= gain - 1e-6, (side, row)
            if caps[row] >= 1:
                args = (less, product_cap) if side == "creator" else (creator_cap, less)
                loss = best - _brute_force(c, p, value, *args)
                assert prices[row] <= loss + 1e-6, (side, row)
