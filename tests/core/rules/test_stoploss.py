"""Stop-loss flags: realized GPM far below predicted after enough views."""

from __future__ import annotations

import numpy as np
import pandas as pd

from recsys.core.config import RulesSettings
from recsys.core.rules import gpm, stop_loss_check, stop_loss_flags

RULES = RulesSettings()  # 10,000 views, ratio 0.3


def test_gpm_is_gmv_per_thousand_views() -> None:
    assert gpm(500.0, 10_000) == 50.0
    assert np.isnan(gpm(5.0, 0))


def test_stop_loss_flags_and_their_reasons() -> None:
    promotions = pd.DataFrame(
        {
            "promotion_id": ["low", "fine", "young", "unknown", "edge"],
            "views": [20_000, 20_000, 9_999, 20_000, 10_000],
            "gmv": [100.0, 1_000.0, 0.0, 0.0, 150.0],  # GPM 5, 50, 0, 0, 15
            "predicted_gpm": [50.0, 50.0, 50.0, np.nan, 50.0],
        },
        index=[10, 11, 12, 13, 14],
    )
    out = stop_loss_flags(promotions, "predicted_gpm", RULES)
    assert out["flagged"].tolist() == [True, False, False, False, False]  # 15 is not < 0.3 x 50
    assert out["reason"].tolist() == [
        "stop_loss_gpm_below_prediction",
        None,
        "stop_loss_insufficient_views",
        "stop_loss_no_prediction",
        None,
    ]
    assert out.index.tolist() == [10, 11, 12, 13, 14] and out["promotion_id"].iloc[0] == "low"
    for row, flagged in zip(promotions.itertuples(), out["flagged"], strict=True):
        assert stop_loss_check(row.views, row.gmv, row.predicted_gpm, RULES).flagged == flagged
    looser = stop_loss_flags(promotions, promotions["predicted_gpm"].to_numpy(), RulesSettings(stop_loss_gpm_ratio=0.5))
    assert looser["flagged"].tolist() == [True, False, False, False, True]
