"""``matching.allocation_activity``: the allocation's prices for a period in which only a share of products recruits
(creator capacities divided by the share), worked by hand."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from pydantic import ValidationError

from models.matching.allocation import allocate
from recsys.core.config import MatchingSettings

TOL = 1e-6


def _star() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One creator (capacity 1) wanted by three products worth 10, 8 and 6; a second creator (capacity 1) that only
    product 2 wants, at 1. Products are unlimited."""
    c, p = np.array([0, 0, 0, 1]), np.array([0, 1, 2, 2])
    return c, p, np.array([10.0, 8.0, 6.0, 1.0]), np.array([1.0, 1.0]), np.full(3, np.inf)


def test_activity_one_is_the_allocation_as_before() -> None:
    c, p, value, caps_c, caps_p = _star()
    before, same = allocate(c, p, value, caps_c, caps_p), allocate(c, p, value, caps_c, caps_p, 1.0)
    assert np.array_equal(before.take, same.take) and before.value == same.value
    assert np.array_equal(before.creator_price, same.creator_price)
    assert np.array_equal(before.product_price, same.product_price)


def test_a_lower_activity_share_gives_creators_no_higher_prices() -> None:
    c, p, value, caps_c, caps_p = _star()
    # the contested creator's price lies between the value of the best pair it no longer reaches and the last one
    # it takes: 1 slot -> [8, 10]; at activity 1/2, 2 slots -> [6, 8]; at 1/3, 3 slots -> [0, 6]
    bounds = {1.0: (8.0, 10.0), 0.5: (6.0, 8.0), 1 / 3: (0.0, 6.0)}
    prices = []
    for activity, (low, high) in bounds.items():
        a = allocate(c, p, value, caps_c, caps_p, activity)
        assert low - TOL <= a.creator_price[0] <= high + TOL
        prices.append(a.creator_price)
    for higher, lower in itertools.pairwise(prices):
        assert (lower <= higher + TOL).all()
    assert allocate(c, p, value, caps_c, caps_p, 1 / 3).take[:3].all()  # room for every product it is worth


def test_samples_stay_unscaled_so_a_product_price_may_rise() -> None:
    # product 0 has one sample; creator 0 prefers product 1 while it has one slot, and takes both with two
    c, p = np.array([0, 0, 1]), np.array([0, 1, 0])
    value, caps_c, caps_p = np.array([9.0, 10.0, 5.0]), np.array([1.0, 1.0]), np.array([1.0, np.inf])
    full, half = allocate(c, p, value, caps_c, caps_p), allocate(c, p, value, caps_c, caps_p, 0.5)
    assert full.take.tolist() == [False, True, True] and half.take.tolist() == [True, True, False]
    # product 0's sample: one more gains 0 (full) / 5 (half); one less loses 5 (full) / 9 (half)
    assert -TOL <= full.product_price[0] <= 5.0 + TOL <= half.product_price[0] + 2 * TOL <= 9.0 + 3 * TOL


@pytest.mark.parametrize("activity", [0.0, -0.1, 1.5])
def test_an_activity_outside_zero_to_one_is_refused(activity: float) -> None:
    c, p, value, caps_c, caps_p = _star()
    with pytest.raises(ValueError, match="activity"):
        allocate(c, p, value, caps_c, caps_p, activity)
    with pytest.raises(ValidationError, match="allocation_activity"):
        MatchingSettings(allocation_activity=activity)
