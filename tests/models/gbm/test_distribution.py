"""The content distribution weight: a place among a reference set of promotions, set at training."""

from __future__ import annotations

import numpy as np
import pytest

from models.gbm.distribution import DistributionModel


@pytest.fixture(scope="module")
def model() -> DistributionModel:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 3))
    gpm = np.expm1(np.clip(2 + X[:, 0] + 0.1 * rng.normal(size=2000), 0, None))  # GPM grows with feature 0
    return DistributionModel(n_estimators=60, num_threads=1).fit(
        X[:1500], gpm[:1500], ["a", "b", "c"], X[1500:], gpm[1500:]
    )


def test_the_weight_is_a_place_among_the_reference_set(model: DistributionModel) -> None:
    rng = np.random.default_rng(1)
    # the promotions lists recommend: all good content (feature 0 high)
    reference = np.column_stack([rng.uniform(1.0, 2.0, 500), rng.normal(size=500), rng.normal(size=500)])
    good, better = np.array([[1.2, 0.0, 0.0]]), np.array([[1.8, 0.0, 0.0]])
    before = model.weight(np.vstack([good, better]))
    assert before[0] > 0.85 and before[1] > 0.85  # among all promotions both sit near the top: no separation
    model.set_reference(reference)
    after = model.weight(np.vstack([good, better]))
    assert after[0] < 0.4 < 0.6 < after[1]  # among recommended content they separate
    placed = model.weight(reference)
    assert np.median(placed) == pytest.approx(0.5, abs=0.05)


def test_an_empty_reference_is_refused(model: DistributionModel) -> None:
    with pytest.raises(ValueError, match="non-empty reference"):
        model.set_reference(np.empty((0, 3)))
