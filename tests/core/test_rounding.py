"""``rounded`` is Python's ``round`` value for value, including where numpy's own rounding is not."""

from __future__ import annotations

import math

import numpy as np
import pytest

from recsys.core.rounding import rounded


def _same(got: list[float], values: np.ndarray, digits: int) -> None:
    want = [round(float(v), digits) for v in values]
    assert len(got) == len(want)
    for g, w, v in zip(got, want, values, strict=True):
        if math.isnan(w):
            assert math.isnan(g), v
        else:  # the same double, sign of zero included
            assert g == w and math.copysign(1.0, g) == math.copysign(1.0, w), (v, g, w)


@pytest.mark.parametrize("digits", [0, 2, 3, 4, 6])
def test_equal_to_round_on_ordinary_and_adversarial_values(digits: int) -> None:
    rng = np.random.default_rng(digits)
    halves = (rng.integers(-(10**7), 10**7, 20_000) + 0.5) / 10**digits  # decimal halves: the hard cases
    columns = [
        rng.normal(0, 1, 20_000),
        rng.lognormal(5, 4, 20_000),  # money, up to ~1e9
        halves,
        np.nextafter(halves, np.inf),  # a double either side of each half
        np.nextafter(halves, -np.inf),
    ]
    for values in columns:
        _same(rounded(values, digits), values, digits)


def test_where_numpy_rounds_otherwise_the_result_is_rounds() -> None:
    values = np.array([1.0049999999999999, 2.675, 0.285, 1.005, 0.125, 0.375, -2.5, 5e-324] * 8)
    assert np.round(values, 2).tolist() != [round(float(v), 2) for v in values]  # numpy alone would differ here
    _same(rounded(values, 2), values, 2)


def test_special_and_huge_values_and_short_columns() -> None:
    specials = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, -0.004, 1e300, -1e300, 2.0**52, 2.0**53 + 2] * 4)
    _same(rounded(specials, 2), specials, 2)  # 40 values: the array path
    _same(rounded(specials[:7], 2), specials[:7], 2)  # a short column: round() itself
    assert rounded([], 2) == []
    assert rounded([1.23456] * 40, 3) == [1.235] * 40


def test_digits_out_of_range_are_refused() -> None:
    with pytest.raises(ValueError, match="digits"):
        rounded([1.0], 16)
    with pytest.raises(ValueError, match="digits"):
        rounded([1.0], -1)
