"""A page's Recommendation objects built from column lists (models/matching/recommendation.py) carry the same
values, types and rounding as reading each numpy cell one by one: figures are Python floats even from integer or
float32 columns, ids and rows plain str / int, no plan and an undefined ROI are None."""

from __future__ import annotations

import numpy as np

from models.matching.explain import Reason
from models.matching.recommendation import PageColumns, page_recommendations
from recsys.core.vocab import PlanType, ReasonCode


def _columns(**overrides: object) -> PageColumns:
    n = 2
    base: dict[str, object] = dict(
        c=np.array([7, 3]),
        p=np.array([11, 5]),
        creator_ids=["c7", "c3"],
        product_ids=["p11", "p5"],
        score=np.array([0.123456789, 2.5]),
        fit=np.array([0.98765, 0.5], dtype=np.float32),
        weight=np.array([0.33333, 1.0]),
        gpm=np.array([12.345, 0.0]),
        gmv=np.array([100, 250]),  # an integer column: still floats in the objects
        gmv_low=np.array([10.005, 0.0]),
        gmv_high=np.array([300.0, 900.0]),
        units=np.array([3.14159, 1.0]),
        units_low=np.array([0.1, 0.0]),
        units_high=np.array([9.999, 4.0]),
        commission=np.array([20.0, 50.0]),
        commission_low=np.array([2.0, 0.0]),
        commission_high=np.array([60.0, 180.0]),
        sample_cost=np.array([0, 35]),
        roi=np.array([4.56789, np.nan]),
        rate=np.array([0.2, 0.15]),
        plan_row=np.array([1, -1]),
        plan_type=np.array([0, -1], dtype=np.int8),
        eligible=np.array([True, True]),
        reason=np.array([None, None], dtype=object),
        existing=np.array([False, True]),
        suspected=np.array([True, False]),
        left=np.array([4.0, 0.0]),
        limited=np.array([True, False]),
        price=np.array([1.234, 0.0]),
    )
    base.update(overrides)
    assert all(len(v) == n for v in base.values() if v is not None)  # type: ignore[arg-type]
    return PageColumns(**base)  # type: ignore[arg-type]


def test_each_field_is_the_rounded_python_value_of_its_cell() -> None:
    reasons = [[Reason(ReasonCode.REGION_MATCH, {"region": "east"}, "same region", 0.5)], []]
    first, second = page_recommendations(_columns(), reasons, np.array(["plan-a", "plan-b"], dtype=object))
    assert (first.creator_id, first.product_id, first.creator_row, first.product_row) == ("c7", "p11", 7, 11)
    assert first.score == round(0.123456789, 6) and first.fit_score == round(float(np.float32(0.98765)), 4)
    assert first.predicted_gmv == 100.0 and type(first.predicted_gmv) is float
    assert second.sample_cost == 35.0 and type(second.sample_cost) is float
    assert first.predicted_gmv_low == round(10.005, 2) and first.predicted_units == 3.14
    assert first.plan_id == "plan-b" and first.plan_type is next(iter(PlanType))
    assert second.plan_id is None and second.plan_type is None
    assert first.merchant_roi == 4.568 and second.merchant_roi is None
    assert first.creator_capacity_left == 4 and type(first.creator_capacity_left) is int
    assert second.creator_capacity_left is None
    assert first.suspected_fake_engagement is True and second.existing is True
    assert first.capacity_price == 1.23 and first.reasons == reasons[0] and second.reasons == []


def test_without_capacity_prices_every_item_shows_zero() -> None:
    recs = page_recommendations(_columns(price=None), [[], []], None)
    assert [r.capacity_price for r in recs] == [0.0, 0.0]
    assert [r.plan_id for r in recs] == [None, None]  # no plan book: no plan ids
