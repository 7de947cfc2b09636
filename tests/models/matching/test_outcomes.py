"""Merchant economics worked by hand: sample costs from the product's policy or the default, and lists reordered by
expected GMV or ROI."""

from __future__ import annotations

import numpy as np
import pytest

from models.matching.outcomes import Outcomes, sample_costs
from models.matching.rerank import Ranked, sorted_by
from recsys.core.rules import expected_commission, merchant_roi_array
from recsys.core.vocab import CreatorSort


def test_sample_cost_is_the_stated_one_else_share_of_price_plus_shipping() -> None:
    price = np.array([100.0, 40.0, np.nan])
    stated = np.array([np.nan, 5.0, np.nan])
    # 0.5 x 100 + 8 = 58; stated 5; no price: shipping only
    assert sample_costs(stated, price, 0.5, 8.0) == pytest.approx([58.0, 5.0, 8.0])
    assert sample_costs(None, price, 0.5, 8.0) == pytest.approx([58.0, 28.0, 8.0])


def test_roi_including_the_sample_differs_by_creator_on_one_plan() -> None:
    gmv = np.array([1000.0, 100.0])  # two creators, one plan at 20%, no refunds, a 58-yuan sample each
    commission = np.asarray(expected_commission(gmv, 0.2, 0.0))
    roi = merchant_roi_array(gmv, commission + 58.0)
    # 1000 / (200 + 58) and 100 / (20 + 58): without the sample both would be 1 / 0.2 = 5
    assert roi == pytest.approx([1000 / 258, 100 / 78])


def _outcomes(gmv: list[float], roi: list[float]) -> Outcomes:
    n = len(gmv)
    z = np.zeros(n)
    return Outcomes(np.arange(n), np.array(gmv), z, z, z, z, z, z, z, np.array(roi), None)  # type: ignore[arg-type]


def test_sorted_by_reorders_by_the_figure_ties_by_the_matchers_order() -> None:
    # the matcher's order: rows 2, 0, 1, 3
    ranked = Ranked(np.array([2, 0, 1, 3]), np.zeros(4), np.zeros(4), np.zeros(4))
    outcomes = _outcomes([50.0, 80.0, 50.0, 10.0], [3.0, np.nan, 2.0, 3.0])
    assert sorted_by(ranked, outcomes, CreatorSort.FIT) is ranked
    # GMV 80 (row 1), then the tie 50/50 in the matcher's order (row 2 before row 0), then 10
    assert sorted_by(ranked, outcomes, CreatorSort.EXPECTED_GMV).order.tolist() == [1, 2, 0, 3]
    # ROI 3 (rows 0 and 3; row 0 first in the matcher's order), 2 (row 2), undefined (row 1) last
    assert sorted_by(ranked, outcomes, CreatorSort.ROI).order.tolist() == [0, 3, 2, 1]
