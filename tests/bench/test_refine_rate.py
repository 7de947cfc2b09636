"""``bench.http_load.refine_rate``: bisection between a passing and a failing open-loop rate."""

import pytest

from bench.http_load import refine_rate


@pytest.mark.parametrize("capacity", [50.0, 58.0, 83.0, 99.0])
def test_refine_rate_lands_within_the_step_below_the_capacity(capacity: float) -> None:
    tried: list[float] = []

    def passes(rate: float) -> bool:
        tried.append(rate)
        return rate <= capacity

    found = refine_rate(passes, 50.0, 100.0, steps=3)
    assert len(tried) == 3
    assert found <= capacity  # a rate that passed (or the grid's own passing rate)
    assert capacity - found < 50.0 / 2**3  # within one final step below it
    assert found == 50.0 or found in tried


def test_refine_rate_needs_a_failing_rate_above_the_passing_one() -> None:
    with pytest.raises(ValueError, match="passed < failed"):
        refine_rate(lambda _: True, 100.0, 50.0)
