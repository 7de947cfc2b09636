"""Synthetic sample requests: drawn from their own stream (every other table unchanged), reproducible per seed,
consistent with the promotions, and less often fulfilled by creators of low hidden propensity."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recsys.core.schema import TABLES
from recsys.core.synth import SynthConfig, Synthetic, generate
from recsys.core.workflows.fulfilment import sample_fulfilment_counts

CONFIG = SynthConfig(creators=200, products=600, promotions=6000, seed=8)


@pytest.fixture(scope="module")
def synthetic() -> Synthetic:
    return generate(CONFIG)


def test_samples_change_no_other_table_and_repeat_per_seed(synthetic: Synthetic) -> None:
    without = generate(CONFIG.model_copy(update={"sample_requests": False}))
    for name in TABLES:
        pd.testing.assert_frame_equal(synthetic.market.table(name), without.market.table(name), obj=name)
    assert len(without.market.sample_requests) == 0 and without.truth.sample_propensity is None
    again = generate(CONFIG)
    pd.testing.assert_frame_equal(synthetic.market.sample_requests, again.market.sample_requests)
    other = generate(CONFIG.model_copy(update={"seed": 9})).market.sample_requests
    assert not other["shipped_at"].reset_index(drop=True).equals(synthetic.market.sample_requests["shipped_at"])


def test_samples_are_consistent_with_the_promotions(synthetic: Synthetic) -> None:
    samples, promotions = synthetic.market.sample_requests, synthetic.market.promotions
    assert len(samples) > 200 and samples["request_id"].is_unique
    assert (samples["requested_at"] < samples["shipped_at"]).all()
    assert (samples["shipped_at"] < pd.Timestamp(CONFIG.as_of)).all()
    content = samples[samples["content_promotion_id"].notna()]
    assert 0.2 < len(content) / len(samples) < 0.9  # some samples never see content
    joined = content.merge(promotions, left_on="content_promotion_id", right_on="promotion_id", suffixes=("", "_p"))
    assert len(joined) == len(content)
    assert (joined["creator_id"] == joined["creator_id_p"]).all() and (
        joined["product_id"] == joined["product_id_p"]
    ).all()
    assert (joined["content_started_at"] == joined["started_at"]).all()
    days = (joined["started_at"] - joined["shipped_at"]).dt.total_seconds() / 86400
    assert days.between(1, 7).all() and (joined["content_recorded_at"] >= joined["started_at"]).all()


def test_low_propensity_creators_fulfil_fewer_samples(synthetic: Synthetic) -> None:
    propensity = synthetic.truth.sample_propensity
    assert propensity is not None
    ids = pd.Index(synthetic.truth.creator_ids)
    counts = sample_fulfilment_counts(synthetic.market.sample_requests, CONFIG.as_of, window_days=CONFIG.history_days)
    p = propensity[ids.get_indexer(counts.index)]
    low, high = counts[p < np.median(propensity)], counts[p >= np.median(propensity)]
    low_rate = low["fulfilled"].sum() / low["judged"].sum()
    high_rate = high["fulfilled"].sum() / high["judged"].sum()
    assert low_rate < high_rate - 0.15
    skill_corr = np.corrcoef(synthetic.truth.skill, propensity)[0, 1]
    assert skill_corr > 0.6  # the propensity follows the skill that drives sales
