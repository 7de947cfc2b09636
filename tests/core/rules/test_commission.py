"""Tiered rates, expected commission, merchant ROI and the fit/earnings blend — hand-checked values."""

from __future__ import annotations

import numpy as np
import pytest

from recsys.core.rules import (
    PlanTerms,
    blend_fit_and_earnings,
    effective_rate,
    expected_commission,
    merchant_roi,
    merchant_roi_array,
    normalise_unit,
)
from tests.core.rules._market import NOW

# base 5 % below 100 units, 8 % from 100, 12 % from 500
TIERED = PlanTerms("pl", "p", "tiered", 0.05, NOW, tiers=((100.0, 0.08), (500.0, 0.12)))


@pytest.mark.parametrize(
    ("cumulative", "predicted", "rate"),
    [
        (0, 0, 0.05),
        (99, 0, 0.05),
        (100, 0, 0.08),  # a threshold counts from the unit that reaches it
        (500, 0, 0.12),
        (0, 100, 0.05),
        (50, 100, 0.065),  # 50 units at 5 % + 50 at 8 %
        (0, 1000, 0.097),  # (100 x .05 + 400 x .08 + 500 x .12) / 1000 = 97 / 1000
        (600, 50, 0.12),
    ],
)
def test_tiered_effective_rate(cumulative: float, predicted: float, rate: float) -> None:
    assert effective_rate(TIERED, cumulative, predicted) == pytest.approx(rate, abs=1e-12)


def test_flat_plans_ignore_amounts_and_tiers() -> None:
    flat = PlanTerms("pl", "p", "targeted", 0.2, NOW, creator_ids=frozenset({"c"}), tiers=((0.0, 0.5),))
    assert effective_rate(flat, 1e6, 1e6) == 0.2


def test_expected_commission_and_roi() -> None:
    # 1,000 GMV, 10 % refunds, 20 % commission -> 180 to the creator; the merchant returns 1000/180
    assert expected_commission(1000.0, 0.2, 0.1) == pytest.approx(180.0)
    assert merchant_roi(1000.0, 180.0) == pytest.approx(5.5556, rel=1e-4)
    assert merchant_roi(1000.0, 0.0) is None  # undefined, never "infinitely good"
    np.testing.assert_allclose(
        expected_commission(np.array([100.0, 0.0]), np.array([0.1, 0.3]), np.array([0.0, 0.5])), [10.0, 0.0]
    )
    roi = merchant_roi_array(np.array([100.0, 100.0]), np.array([10.0, 0.0]))
    assert roi[0] == 10.0 and np.isnan(roi[1])


def test_blend_ranks_by_fit_or_earnings_at_the_ends() -> None:
    fit = np.array([3.0, 2.0, 1.0])
    earnings = np.array([0.0, 5.0, 10.0])
    assert np.argmax(blend_fit_and_earnings(fit, earnings, 0.0)) == 0
    assert np.argmax(blend_fit_and_earnings(fit, earnings, 1.0)) == 2
    np.testing.assert_allclose(blend_fit_and_earnings(fit, earnings, 0.3), [0.7, 0.5, 0.3])
    assert normalise_unit(np.array([4.0, 4.0])).tolist() == [0.0, 0.0]
    with pytest.raises(ValueError, match="within"):
        blend_fit_and_earnings(fit, earnings, 1.5)
