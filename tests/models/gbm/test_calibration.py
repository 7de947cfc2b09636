"""Score calibration: a quantile map turns a raw score into "better than this share of the reference set".

Reference scores 10, 20, 30, 40, 50 with 5 grid points: the quantiles are the scores themselves, at shares
0, 0.25, 0.5, 0.75 and 1, and a score in between is interpolated (25 lies halfway from 0.25 to 0.5: 0.375).
"""

from __future__ import annotations

import numpy as np
import pytest

from models.gbm.calibration import QuantileMap


def test_a_score_maps_to_the_share_of_reference_scores_below_it() -> None:
    qmap = QuantileMap.fit(np.array([30.0, 10.0, 50.0, 20.0, 40.0]), points=5)
    np.testing.assert_allclose(qmap.quantiles, [10, 20, 30, 40, 50])
    shares = qmap.transform(np.array([10.0, 25.0, 30.0, 47.5, 50.0]))
    np.testing.assert_allclose(shares, [0.0, 0.375, 0.5, 0.9375, 1.0], atol=1e-9)


def test_scores_outside_the_reference_range_are_clipped_to_0_and_1() -> None:
    qmap = QuantileMap.fit(np.array([10.0, 20.0, 30.0, 40.0, 50.0]), points=5)
    np.testing.assert_array_equal(qmap.transform(np.array([-1e9, 9.99, 50.01, 1e9])), [0.0, 0.0, 1.0, 1.0])


def test_point_eight_means_better_than_eighty_percent_of_the_reference() -> None:
    # 1..100 with the default 101 points: the 80% quantile is 1 + 0.8 * 99 = 80.2
    qmap = QuantileMap.fit(np.arange(1.0, 101.0))
    assert qmap.transform(np.array([80.2]))[0] == pytest.approx(0.8, abs=1e-6)
    assert qmap.transform(np.array([50.5]))[0] == pytest.approx(0.5, abs=1e-6)  # the median is "typical"
    grid = np.linspace(-10, 120, 500)
    assert np.all(np.diff(qmap.transform(grid)) >= 0)  # a higher score never gets a lower share


def test_missing_reference_values_are_ignored_and_ties_keep_the_map_monotone() -> None:
    with_nan = QuantileMap.fit(np.array([10.0, np.nan, 20.0, np.inf, 30.0, 40.0, 50.0]), points=5)
    np.testing.assert_allclose(with_nan.quantiles, [10, 20, 30, 40, 50])
    # three of four reference scores are 1: quantiles 1, 1, 1, 2, 5
    tied = QuantileMap.fit(np.array([1.0, 1.0, 1.0, 5.0]), points=5)
    np.testing.assert_allclose(tied.quantiles, [1, 1, 1, 2, 5])
    shares = tied.transform(np.array([0.5, 1.0, 1.5, 2.0, 3.5, 5.0]))
    np.testing.assert_allclose(shares, [0.0, 0.0, 0.625, 0.75, 0.875, 1.0], atol=1e-9)


def test_the_map_survives_a_round_trip_through_plain_numbers() -> None:
    qmap = QuantileMap.fit(np.random.default_rng(0).normal(size=1000))
    again = QuantileMap(np.array(qmap.to_list()))
    x = np.linspace(-3, 3, 50)
    np.testing.assert_array_equal(again.transform(x), qmap.transform(x))


def test_no_finite_reference_values_and_unsorted_quantiles_are_refused() -> None:
    with pytest.raises(ValueError, match="no finite values"):
        QuantileMap.fit(np.array([np.nan, np.inf]))
    with pytest.raises(ValueError, match="non-decreasing"):
        QuantileMap(np.array([1.0, 3.0, 2.0]))
    with pytest.raises(ValueError, match="at least 2"):
        QuantileMap(np.array([1.0]))
