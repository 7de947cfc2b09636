"""The capacity-aware reranker, worked by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from models.matching.market import CapacityPrices, MarketState
from models.matching.rerank import MarketView, _diversified
from recsys.core.config import MatchingSettings


def _view(settings: MatchingSettings, exposure: list[int], new: list[bool]) -> MarketView:
    n = len(exposure)
    state = MarketState.empty(n, 2)
    state = MarketState(
        state.existing_keys, 2, state.creator_capacity, state.creator_load, state.product_stock, np.array(new)
    )
    prices = CapacityPrices(np.array([0.0, 5.0, 0.0]), np.array([1.0, 0.0]))
    return MarketView(state, prices, np.array(exposure), settings)


def test_creator_multiplier_is_boost_times_exposure_decay() -> None:
    view = _view(MatchingSettings(exposure_decay=1.0, new_creator_boost=0.5), [0, 3, 6], [True, False, False])
    # mean exposure 3: lists / mean = 0, 1, 2 -> decay 1, 1/2, 1/3; creator 0 is new: x 1.5
    assert view.creator_multiplier(np.array([0, 1, 2])) == pytest.approx([1.5, 0.5, 1 / 3])
    assert view.price(np.array([1, 0]), np.array([0, 1])) == pytest.approx([6.0, 0.0])


def test_controls_off_leave_value_alone() -> None:
    view = _view(MatchingSettings(exposure_decay=0.0, new_creator_boost=0.0), [0, 3, 6], [True, False, False])
    assert view.creator_multiplier(np.array([0, 1, 2])) == pytest.approx([1.0, 1.0, 1.0])


def test_diversity_discounts_each_later_item_of_a_category() -> None:
    score = np.array([1.0, 0.9, 0.8, 0.7])
    category = np.array([0, 0, 0, 1])
    # ranks within category: 0, 1, 2, 0 -> x 1, 0.5, 0.25, 1
    assert _diversified(score, category, 0.5) == pytest.approx([1.0, 0.45, 0.2, 0.7])
    assert _diversified(score, category, 0.0) is score


def test_room_scales_value_by_the_share_of_capacity_still_free() -> None:
    settings = MatchingSettings(exposure_decay=0.0, new_creator_boost=0.0, capacity_room=1.0)
    state = MarketState(
        np.empty(0, np.int64),
        2,
        np.array([3, 3, 1]),  # capacities
        np.array([0, 3, 5]),  # loads: free, full, over
        np.full(2, np.inf),
        np.zeros(3, bool),
    )
    view = MarketView(state, CapacityPrices.zero(3, 2), np.zeros(3, np.int64), settings)
    # left / capacity, at least 0.05: 3/3, 0/3 -> 0.05, none left -> 0.05
    assert view.creator_multiplier(np.array([0, 1, 2])) == pytest.approx([1.0, 0.05, 0.05])


def test_a_flagged_creator_keeps_only_the_fake_penalty_share_of_its_value() -> None:
    settings = MatchingSettings(exposure_decay=0.0, new_creator_boost=0.0, capacity_room=0.0)
    base = MarketView.none(3, 2, settings)
    view = MarketView(base.state, base.prices, base.exposure, settings, np.array([False, True, False]), 0.2)
    assert view.creator_multiplier(np.array([0, 1, 2])) == pytest.approx([1.0, 0.2, 1.0])
    assert view.suspected(np.array([1, 2])).tolist() == [True, False]
    assert base.suspected(np.array([1])).tolist() == [False]  # no detection: nobody suspected


def test_the_retrieval_affinity_multiplies_value_by_exp_blend_z() -> None:
    settings = MatchingSettings(exposure_decay=0.0, new_creator_boost=0.0, capacity_room=0.0, retrieval_blend=0.5)
    view = MarketView.none(3, 2, settings)
    z = np.array([0.0, 2.0, -2.0])
    assert view.creator_multiplier(np.arange(3), None, z) == pytest.approx([1.0, math.e, 1 / math.e])
    off = MarketView.none(3, 2, settings.model_copy(update={"retrieval_blend": 0.0}))
    assert off.creator_multiplier(np.arange(3), None, z) == pytest.approx([1.0, 1.0, 1.0])
    assert view.creator_multiplier(np.arange(3)) == pytest.approx([1.0, 1.0, 1.0])  # pools: no affinity
