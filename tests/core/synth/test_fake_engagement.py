"""Fake engagement in the synthetic world: only fake creators' observed counts change, the truth stays real."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recsys.core.synth import FakeEngagement, GroundTruth, SynthConfig, Synthetic, generate, write_synthetic

CONFIG = SynthConfig(creators=400, products=800, promotions=6000, seed=4, fake_engagement_share=0.1)
FOLLOWER_COLUMNS = {"followers", "fans_growth_30d"}
VIEW_COLUMNS = {"avg_views", "like_rate", "comment_rate", "share_rate", "completion_rate"}


@pytest.fixture(scope="module")
def pair() -> tuple[Synthetic, Synthetic]:
    """The same world with and without fake engagement."""
    return generate(CONFIG), generate(CONFIG.model_copy(update={"fake_engagement_share": 0.0}))


def _fake(synthetic: Synthetic) -> FakeEngagement:
    assert synthetic.truth.fake_engagement is not None
    return synthetic.truth.fake_engagement


def _changed(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    assert list(a.columns) == list(b.columns) and len(a) == len(b)

    def text(frame: pd.DataFrame) -> pd.DataFrame:  # cell by cell, NaN equal to NaN, lists by value
        return frame.astype(object).where(frame.notna(), "<missing>").astype(str)

    return text(a) != text(b)


def test_the_chosen_share_bought_followers_views_or_both(pair: tuple[Synthetic, Synthetic]) -> None:
    fake = _fake(pair[0])
    assert fake.fake.sum() == 40  # 10% of 400
    assert (fake.bought_followers & ~fake.bought_views).any() and (fake.bought_views & ~fake.bought_followers).any()
    assert (fake.bought_followers & fake.bought_views).any()
    assert not _fake(pair[1]).fake.any()


def test_only_fake_creators_rows_and_their_promotions_change(pair: tuple[Synthetic, Synthetic]) -> None:
    faked, honest = pair
    fake = _fake(faked)
    for name in ("merchants", "products", "plans", "orders"):
        assert not _changed(faked.market.table(name), honest.market.table(name)).any().any(), name
    changed = _changed(faked.market.creators, honest.market.creators)
    assert not changed[~fake.fake].any().any()
    assert set(changed.columns[changed[fake.bought_followers & ~fake.bought_views].any()]) == FOLLOWER_COLUMNS
    assert set(changed.columns[changed[fake.bought_views & ~fake.bought_followers].any()]) == VIEW_COLUMNS
    promotions = _changed(faked.market.promotions, honest.market.promotions)
    assert set(promotions.columns[promotions.any()]) == {"views", "completion_rate"}
    touched = faked.market.promotions.loc[promotions.any(axis=1).to_numpy(), "creator_id"]
    assert len(touched) > 0 and set(touched) <= set(fake.creator_ids[fake.bought_views])


def test_observed_counts_are_inflated_and_sales_are_not(pair: tuple[Synthetic, Synthetic]) -> None:
    faked, honest = pair
    fake = _fake(faked)
    real = honest.market.creators["followers"].to_numpy()
    seen = faked.market.creators["followers"].to_numpy()
    ratio = seen[fake.bought_followers] / real[fake.bought_followers]
    assert ratio.min() >= 1.9 and ratio.max() <= 10.1
    np.testing.assert_array_equal(fake.real_followers, real)
    views = fake.bought_views
    assert (
        faked.market.creators["avg_views"].to_numpy()[views] > honest.market.creators["avg_views"].to_numpy()[views]
    ).all()
    assert (
        faked.market.creators["like_rate"].to_numpy()[views]
        < honest.market.creators["like_rate"].to_numpy()[views] + 1e-12
    ).all()
    mine = faked.market.promotions["creator_id"].isin(fake.creator_ids[views]).to_numpy()
    a, b = faked.market.promotions[mine], honest.market.promotions[mine]
    assert a["views"].sum() > 2 * b["views"].sum()
    for col in ("clicks", "orders", "gmv", "likes"):
        np.testing.assert_array_equal(a[col].to_numpy(), b[col].to_numpy())
    assert (a["clicks"] <= a["views"]).all()


def test_the_truth_keeps_the_real_reach(pair: tuple[Synthetic, Synthetic]) -> None:
    faked, honest = pair
    np.testing.assert_array_equal(faked.truth.avg_views, honest.truth.avg_views)
    np.testing.assert_array_equal(faked.truth.avg_views, honest.market.creators["avg_views"].to_numpy())


def test_fake_engagement_follows_the_seed() -> None:
    small = SynthConfig(creators=200, products=300, promotions=1500, seed=9, with_orders=False)
    a, again, other = generate(small), generate(small), generate(small.model_copy(update={"seed": 10}))
    pd.testing.assert_frame_equal(_fake(a).frame(), _fake(again).frame())
    pd.testing.assert_frame_equal(a.market.promotions, again.market.promotions)
    assert not np.array_equal(_fake(a).fake, _fake(other).fake)


def test_the_record_is_saved_with_the_ground_truth(tmp_path: Path, pair: tuple[Synthetic, Synthetic]) -> None:
    write_synthetic(pair[0], tmp_path)
    assert (tmp_path / "ground_truth" / "fake_engagement.parquet").is_file()
    loaded = GroundTruth.load(tmp_path).fake_engagement
    assert loaded is not None
    pd.testing.assert_frame_equal(loaded.frame(), _fake(pair[0]).frame())
    ids = pair[0].market.creators["creator_id"].to_numpy()[::-1]
    np.testing.assert_array_equal(loaded.fake_of(ids), _fake(pair[0]).fake[::-1])
    with pytest.raises(KeyError):
        loaded.fake_of(["nobody"])
