"""Sales history windows on a hand-written promotions frame, every figure worked out by hand.

One creator ``c1`` promotes products ``p1`` (price 20) and ``p2`` (price 80); ``c2`` only has a promotion with
no views and no clicks; ``c3`` has none. The cutoff is 2024-06-01 00:00.

    promo  creator product started     age  views  clicks orders gmv   refunds likes comments shares format
    A      c1      p1      2024-05-29  3 d  10000  200    10     500   1       300   50       150    video
    B      c1      p2      2024-05-12  20 d 5000   50     5      400   0       200   50       0      live
    C      c1      p1      2024-03-13  80 d 20000  100    20     1000  4       0     0        0      video
    D      c1      p2      2024-01-01  152 d 1000  10     1      99    0       0     0        0      video
    E      c2      p1      2024-05-31  1 d  0      0      0      0     0       0     0        0      post
    F      c1      p1      2024-06-01  (at the cutoff: never read)  gmv 7777
    G      c1      p2      2024-06-05  (after the cutoff: never read) gmv 8888
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.history import (
    History,
    creator_category_history,
    distinct_partners,
    main_format,
    pair_history,
    usual_price,
    window_aggregates,
)
from recsys.core.schema import PROMOTION_FORMATS
from tests.features.frames import promotions

CUTOFF = pd.Timestamp("2024-06-01")
CREATORS = pd.Index(["c1", "c2", "c3"])
PRODUCTS = pd.Index(["p1", "p2"])
ROWS = [
    ("c1", "p1", "2024-05-29", 10_000, 200, 10, 500, 1, 300, 50, 150, "video"),
    ("c1", "p2", "2024-05-12", 5_000, 50, 5, 400, 0, 200, 50, 0, "live"),
    ("c1", "p1", "2024-03-13", 20_000, 100, 20, 1_000, 4, 0, 0, 0, "video"),
    ("c1", "p2", "2024-01-01", 1_000, 10, 1, 99, 0, 0, 0, 0, "video"),
    ("c2", "p1", "2024-05-31", 0, 0, 0, 0, 0, 0, 0, 0, "post"),
    ("c1", "p1", "2024-06-01", 50_000, 900, 90, 7_777, 0, 0, 0, 0, "post"),
    ("c1", "p2", "2024-06-05", 50_000, 900, 90, 8_888, 0, 0, 0, 0, "post"),
]


def history(frame: pd.DataFrame | None = None, cutoff: pd.Timestamp = CUTOFF) -> History:
    return History.of(promotions(ROWS) if frame is None else frame, CREATORS, PRODUCTS, cutoff, PROMOTION_FORMATS)


@pytest.fixture
def c1() -> pd.Series:
    return window_aggregates(history(), "c").iloc[0]


def test_the_7_day_window_holds_only_last_weeks_promotion(c1: pd.Series) -> None:
    # A only: GMV 500, 10 orders of 200 clicks, 10,000 views, 1 refund
    assert c1["c_promotions_7d"] == 1
    assert c1["c_log_gmv_7d"] == pytest.approx(np.log1p(500))
    assert c1["c_log_orders_7d"] == pytest.approx(np.log1p(10))
    assert c1["c_conversion_7d"] == pytest.approx(10 / 200)  # 0.05
    assert c1["c_gpm_7d"] == pytest.approx(1000 * 500 / 10_000)  # ¥50 per 1,000 views
    assert c1["c_refund_rate_7d"] == pytest.approx(1 / 10)


def test_the_30_day_window_adds_the_promotion_of_20_days_ago(c1: pd.Series) -> None:
    # A + B: GMV 900, 15 orders of 250 clicks, 15,000 views, 1 refund; engagement (500 + 250) / 15,000 views
    assert c1["c_promotions_30d"] == 2
    assert c1["c_log_gmv_30d"] == pytest.approx(np.log1p(900))
    assert c1["c_log_orders_30d"] == pytest.approx(np.log1p(15))
    assert c1["c_conversion_30d"] == pytest.approx(15 / 250)  # 0.06
    assert c1["c_gpm_30d"] == pytest.approx(60.0)  # 1000 * 900 / 15,000
    assert c1["c_refund_rate_30d"] == pytest.approx(1 / 15)
    assert c1["c_interaction_rate_30d"] == pytest.approx(750 / 15_000)  # 0.05


def test_the_90_day_window_and_all_time_totals(c1: pd.Series) -> None:
    # A + B + C: GMV 1,900, 35 orders of 350 clicks, 35,000 views, 5 refunds; all time adds D (GMV 99)
    assert c1["c_promotions_90d"] == 3
    assert c1["c_log_gmv_90d"] == pytest.approx(np.log1p(1_900))
    assert c1["c_conversion_90d"] == pytest.approx(0.1)  # 35 / 350
    assert c1["c_gpm_90d"] == pytest.approx(1000 * 1_900 / 35_000)  # 54.29
    assert c1["c_refund_rate_90d"] == pytest.approx(5 / 35)
    assert c1["c_promotions_all"] == 4
    assert c1["c_log_gmv_all"] == pytest.approx(np.log(2_000))  # log1p(1,999)
    assert c1["c_days_since_last"] == pytest.approx(3.0)
    assert c1["c_has_history"] == 1


def test_ratios_without_a_denominator_are_missing_not_zero_or_infinite() -> None:
    windows = window_aggregates(history(), "c")
    c2, c3 = windows.iloc[1], windows.iloc[2]
    # c2's one promotion had no views, clicks or orders: it counts, but no rate can be read from it
    assert c2["c_promotions_7d"] == 1 and c2["c_has_history"] == 1 and c2["c_days_since_last"] == pytest.approx(1.0)
    for name in ("c_conversion_7d", "c_gpm_7d", "c_refund_rate_7d", "c_interaction_rate_30d"):
        assert np.isnan(c2[name]), name
    # c3 has no history at all
    assert c3["c_promotions_90d"] == 0 and c3["c_log_gmv_all"] == 0 and c3["c_has_history"] == 0
    assert np.isnan(c3["c_days_since_last"]) and np.isnan(c3["c_conversion_90d"])


def test_product_windows_sum_every_creator_that_promoted_the_product() -> None:
    p1 = window_aggregates(history(), "p").iloc[0]
    # p1 in 7 days: A (c1, GMV 500, 10,000 views) and E (c2, nothing sold, 0 views)
    assert p1["p_promotions_7d"] == 2
    assert p1["p_log_gmv_7d"] == pytest.approx(np.log1p(500))
    assert p1["p_gpm_7d"] == pytest.approx(50.0)
    # p1 in 90 days: A + E + C: GMV 1,500 over 30,000 views
    assert p1["p_gpm_90d"] == pytest.approx(50.0)
    assert p1["p_log_gmv_90d"] == pytest.approx(np.log1p(1_500))
    # distinct creators over 90 days: p1 had c1 and c2, p2 only c1
    np.testing.assert_array_equal(distinct_partners(history(), 90), [2.0, 1.0])


def test_a_promotion_started_after_the_cutoff_changes_nothing() -> None:
    without_later = promotions(ROWS[:5])  # drop F (at the cutoff) and G (after it)
    np.testing.assert_array_equal(
        window_aggregates(history(), "c").to_numpy(), window_aggregates(history(without_later), "c").to_numpy()
    )
    np.testing.assert_array_equal(
        window_aggregates(history(), "p").to_numpy(), window_aggregates(history(without_later), "p").to_numpy()
    )


def test_a_promotion_started_the_day_before_the_cutoff_counts() -> None:
    day_before = ("c3", "p2", "2024-05-31", 2_000, 40, 4, 250, 0, 0, 0, 0, "video")
    c3 = window_aggregates(history(promotions([*ROWS, day_before])), "c").iloc[2]
    assert c3["c_promotions_7d"] == 1 and c3["c_has_history"] == 1
    assert c3["c_log_gmv_7d"] == pytest.approx(np.log1p(250))
    assert c3["c_conversion_7d"] == pytest.approx(0.1)  # 4 / 40
    assert c3["c_days_since_last"] == pytest.approx(1.0)
    # a table built one day earlier (cutoff 2024-05-31 00:00, the promotion's own start) does not see it
    earlier_cutoff = window_aggregates(history(promotions([*ROWS, day_before]), CUTOFF - pd.Timedelta(days=1)), "c")
    assert earlier_cutoff.iloc[2]["c_has_history"] == 0


def test_category_history_usual_price_format_and_earlier_collaborations() -> None:
    past = history()
    # categories: p1 is category 0, p2 category 1. c1's 90-day GMV: 1,500 in category 0 (A, C), 400 in 1 (B)
    cat = creator_category_history(past, np.array([0, 1]), 2, days=90)
    np.testing.assert_allclose(cat["gmv_share"][0], [1_500 / 1_900, 400 / 1_900])
    np.testing.assert_allclose(cat["log_promotions"][0], np.log1p([2, 1]))
    np.testing.assert_allclose(cat["conversion"][0], [30 / 300, 5 / 50])
    assert np.isnan(cat["conversion"][2]).all() and (cat["gmv_share"][2] == 0).all()  # c3: no history
    # the creator's usual price: median log price of the 4 promotions (20, 80, 20, 80) = log 40
    log_price = np.log([20.0, 80.0])
    usual = usual_price(past, log_price)
    assert usual[0] == pytest.approx(np.log(40.0))
    assert usual[1] == pytest.approx(np.log(20.0)) and np.isnan(usual[2])
    # main format: c1 used video 3 times, live once; c2 posted once
    formats = main_format(past, len(PROMOTION_FORMATS))
    assert PROMOTION_FORMATS[formats[0]] == "video" and PROMOTION_FORMATS[formats[1]] == "post"
    # earlier collaborations: (c1, p1) twice for GMV 1,500 / 30 orders; (c1, p2) twice for 499; (c2, p1) once
    keys, counts, gmv, orders = pair_history(past)
    np.testing.assert_array_equal(keys, [0 * 2 + 0, 0 * 2 + 1, 1 * 2 + 0])
    np.testing.assert_array_equal(counts, [2, 2, 1])
    np.testing.assert_array_equal(gmv, [1_500, 499, 0])
    np.testing.assert_array_equal(orders, [30, 6, 0])
