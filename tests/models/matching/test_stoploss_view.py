"""Stop-loss alerts' pieces, hand-checked: collaborations from promotions, the verdict and the suggested action."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.matching.stoploss_view import StopLossAction, collaborations, stop_loss_report, suggest
from recsys.core.config import RulesSettings


def _promotions() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "creator_id": ["c2", "c1", "c2", "c3", "c1"],
            "product_id": ["p1", "p1", "p1", "p1", "p2"],
            "plan_id": ["pl1", "pl1", "pl1", "pl9", "pl2"],
            "started_at": pd.to_datetime(["2026-11-05", "2026-11-02", "2026-11-01", "2026-11-03", "2026-11-04"]),
            "views": [30_000, 20_000, 10_000, 50_000, 500],
            "gmv": [30.0, 2_000.0, 10.0, 100.0, 0.0],
        }
    )


def test_collaborations_sum_views_and_gmv_and_weight_the_prediction_by_views() -> None:
    predicted = np.array([20.0, 100.0, 40.0, 50.0, np.nan])
    out = collaborations(_promotions(), predicted)
    assert out[["creator_id", "product_id", "plan_id"]].values.tolist() == [
        ["c1", "p1", "pl1"],
        ["c1", "p2", "pl2"],
        ["c2", "p1", "pl1"],
        ["c3", "p1", "pl9"],
    ]
    c2 = out.iloc[2]
    assert c2["promotions"] == 2 and c2["views"] == 40_000 and c2["gmv"] == 40.0
    assert c2["since"] == pd.Timestamp("2026-11-01")
    assert c2["predicted_gpm"] == (20.0 * 30_000 + 40.0 * 10_000) / 40_000  # 25 yuan per 1,000 views
    assert np.isnan(out.iloc[1]["predicted_gpm"])  # no prediction for its only promotion


def test_the_report_flags_only_judged_collaborations_under_the_ratio() -> None:
    predicted = np.array([20.0, 100.0, 40.0, 50.0, np.nan])
    collabs = collaborations(_promotions(), predicted)
    plan_types = pd.Series({"pl1": "open", "pl9": "targeted", "pl2": "open"})
    report = stop_loss_report(collabs, plan_types, {("c2", "p1")}, RulesSettings())
    # c1/p1: GPM 100 = 100% of predicted; c1/p2: 500 views; c2/p1: 1 of 25 (4%); c3/p1: 2 of 50 (4%)
    assert report.collaborations == 4 and report.insufficient_views == 1 and report.no_prediction == 0
    assert [(a.creator_id, a.action) for a in report.alerts] == [
        ("c2", StopLossAction.STOP_SAMPLES),
        ("c3", StopLossAction.LOWER_TARGETED_RATE),
    ]
    first = report.alerts[0]
    assert first.realized_gpm == 1.0 and first.predicted_gpm == 25.0 and first.gpm_ratio == 0.04
    assert first.sample_sent and first.views == 40_000 and first.promotions == 2


def test_suggestions_prefer_the_most_specific_action() -> None:
    assert suggest("exclusive", True, 0.1)[0] is StopLossAction.LOWER_TARGETED_RATE
    assert suggest("open", True, 0.1)[0] is StopLossAction.STOP_SAMPLES
    action, why = suggest("tiered", False, 0.123)
    assert (
        action is StopLossAction.PAUSE
        and why == "It sells 12% of the predicted GPM after enough views: pause the collaboration."
    )
