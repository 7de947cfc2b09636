"""The GMV calibration worked by hand: isotonic steps, conformal bounds, bins, persistence, the decile table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models.gbm.gmv_calibration import GMVCalibrator, calibration_table, conformal_bounds


def test_conformal_bounds_pick_the_order_statistics_of_the_split_conformal_interval() -> None:
    scores = np.arange(1.0, 1000.0 + 1)  # 1..1000 shuffled below: order must not matter
    rng = np.random.default_rng(0)
    # n = 1000, coverage .8: the floor(1001 * .1) = 100th smallest, then ceil(1001 * .8) = 801 scores from it
    assert conformal_bounds(rng.permutation(scores), 0.8) == (100.0, 900.0)
    # n = 4, coverage .5: the 1st smallest, then ceil(5 * .5) = 3 scores
    assert conformal_bounds(np.array([4.0, 0.0, 1.0, 2.0]), 0.5) == (0.0, 2.0)
    # ties at the bottom: 6 zeros of 10 at 80%: from the first zero, ceil(11 * .8) = 9 scores -> the 9th smallest
    assert conformal_bounds(np.array([0.0] * 6 + [1.0, 2.0, 3.0, 4.0]), 0.8) == (0.0, 3.0)
    # n = 3, coverage .8: floor(.4) = 0 -> lower unbounded (0); ceil(3.6) = 4 > n -> the largest
    assert conformal_bounds(np.array([2.0, 5.0, 3.0]), 0.8) == (0.0, 5.0)


def test_isotonic_steps_and_one_bin_interval_by_hand() -> None:
    raw = np.array([1.0, 2.0, 3.0, 4.0])
    realized = np.array([0.0, 4.0, 2.0, 8.0])
    cal = GMVCalibrator(coverage=0.5, bins=1).fit(raw, realized)
    # pool adjacent violators: (4, 2) -> 3, 3
    assert np.allclose(cal.predict(raw).expected, [0.0, 3.0, 3.0, 8.0])
    assert cal.predict(np.array([2.5])).expected[0] == pytest.approx(3.0)
    assert cal.predict(np.array([100.0])).expected[0] == pytest.approx(8.0)  # clipped beyond the data
    # ratios realized / expected: 0/0 -> 0, 4/3, 2/3, 1 -> sorted 0, .667, 1, 1.333; n = 4 at 50%: 1st and 3rd
    out = cal.predict(np.array([4.0]))
    assert out.low[0] == pytest.approx(0.0)
    assert out.high[0] == pytest.approx(8.0 * 1.0)


def test_bins_give_each_size_its_own_spread() -> None:
    rng = np.random.default_rng(3)
    raw = np.repeat([10.0, 1000.0], 500)
    # small pairs are tight (ratio .9-1.1), big ones wild (0-2)
    noise = np.where(raw < 100, rng.uniform(0.9, 1.1, raw.size), rng.uniform(0.0, 2.0, raw.size))
    cal = GMVCalibrator(coverage=0.8, bins=2, min_per_bin=100).fit(raw, raw * noise)
    small, big = cal.predict(np.array([10.0, 1000.0])).low, cal.predict(np.array([10.0, 1000.0])).high
    assert small[0] / cal.predict(np.array([10.0])).expected[0] > 0.9  # tight bin: low near the point
    assert big[1] / cal.predict(np.array([1000.0])).expected[0] > 1.6  # wild bin: high far above it


def test_intervals_cover_their_share_of_fresh_draws_from_the_same_distribution() -> None:
    rng = np.random.default_rng(11)

    def draw(n: int) -> tuple[np.ndarray, np.ndarray]:
        raw = rng.lognormal(4, 1, n)
        return raw, 2.0 * raw * rng.lognormal(0, 0.8, n) * (rng.random(n) > 0.3)

    cal = GMVCalibrator(coverage=0.8).fit(*draw(5000))
    raw, realized = draw(20000)
    out = cal.predict(raw)
    coverage = np.mean((realized >= out.low) & (realized <= out.high))
    assert 0.77 < coverage < 0.83
    assert out.expected.sum() / realized.sum() == pytest.approx(1.0, abs=0.05)  # the model's 2x bias is gone


def test_save_and_load_give_the_same_predictions(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    raw = rng.lognormal(3, 1, 800)
    cal = GMVCalibrator(horizon_days=30).fit(raw, raw * rng.lognormal(0, 0.5, 800))
    cal.save(tmp_path)
    again = GMVCalibrator.load(tmp_path)
    probe = rng.lognormal(3, 1, 50)
    for a, b in zip(
        (cal.predict(probe).expected, cal.predict(probe).low, cal.predict(probe).high),
        (again.predict(probe).expected, again.predict(probe).low, again.predict(probe).high),
        strict=True,
    ):
        assert np.array_equal(a, b)
    assert again.horizon_days == 30


def test_fit_refuses_fewer_than_two_finite_pairs() -> None:
    with pytest.raises(ValueError, match="at least 2 pairs"):
        GMVCalibrator().fit(np.array([1.0, np.nan]), np.array([1.0, 2.0]))


def test_calibration_table_by_decile_by_hand() -> None:
    predicted = np.arange(1.0, 21.0)  # 20 pairs: 2 per decile
    realized = predicted * 2
    realized[0] = 0.0  # decile 1: (1, 2) realized (0, 4)
    table = calibration_table(predicted, realized, predicted * 0.5, predicted * 3)
    assert list(table["pairs"]) == [2] * 10
    first = table.loc[1]
    assert first["mean_predicted"] == pytest.approx(1.5)
    assert first["mean_realized"] == pytest.approx(2.0)
    assert first["realized_over_predicted"] == pytest.approx(2.0 / 1.5)
    assert first["coverage"] == pytest.approx(0.5)  # 0 is below 0.5 x 1
    assert table.loc[10, "realized_over_predicted"] == pytest.approx(2.0)
