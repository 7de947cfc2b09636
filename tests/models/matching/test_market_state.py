"""The market state's load count, worked by hand."""

from __future__ import annotations

import pandas as pd

from models.matching.market import period_load
from recsys.core.vocab import Vocabulary


def test_load_counts_the_distinct_products_promoted_in_the_period_before_now() -> None:
    now = pd.Timestamp("2026-06-01")
    promotions = pd.DataFrame(
        {
            "creator_id": ["a", "a", "a", "b", "b", "b", "c", "c"],
            "product_id": ["x", "y", "z", "x", "x", "y", "x", "x"],
            "started_at": [
                now - pd.Timedelta(days=3),  # a–x: this week
                now - pd.Timedelta(days=7),  # a–y: the week's first instant counts
                now,  # a–z: starts now, not before
                now - pd.Timedelta(days=20),  # b–x: an old pair ...
                now - pd.Timedelta(days=1),  # ... promoted again this week: counts
                now - pd.Timedelta(days=7, seconds=1),  # b–y: a second too early
                now - pd.Timedelta(hours=1),  # c–x twice this week: one collaboration
                now - pd.Timedelta(hours=2),
            ],
        }
    )
    creators, products = Vocabulary(["a", "b", "c", "d"]), Vocabulary(["x", "y", "z"])
    assert period_load(promotions, creators, products, now, 7).tolist() == [2, 1, 1, 0]
