"""The fake-engagement detector on a small hand-made creator table: the obvious fakes are flagged, a viral honest
creator is not."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.tables import FeatureTables
from models.integrity.fake_engagement import (
    INPUT_NAMES,
    EngagementFlags,
    FakeEngagementDetector,
    engagement_flags,
    engagement_inputs,
)
from recsys.core.vocab import Vocabulary

NAMES = [
    "c_log_followers",
    "c_log_avg_views",
    "c_like_rate",
    "c_comment_rate",
    "c_share_rate",
    "c_completion_rate",
    "c_gpm_90d",
    "c_conversion_90d",
    "c_x_fans_growth_30d",
]


def _creator(followers: float, views: float, dilution: float = 1.0, growth: float = 0.02) -> dict[str, float]:
    """One creator's columns: per-view rates and clicks divided by ``dilution`` (bought views)."""
    return {
        "c_log_followers": np.log1p(followers),
        "c_log_avg_views": np.log1p(views),
        "c_like_rate": 0.035 / dilution,
        "c_comment_rate": 0.004 / dilution,
        "c_share_rate": 0.002 / dilution,
        "c_completion_rate": (0.35 + 0.03 * (dilution - 1)) / dilution,
        "c_gpm_90d": 60.0 / dilution,  # 1% click-through x 6% conversion x 100 yuan, per 1,000 views
        "c_conversion_90d": 0.06,
        "c_x_fans_growth_30d": growth,
        "usual_log_price": np.log(100.0),
    }


def _honest(n: int, seed: int = 0) -> list[dict[str, float]]:
    """``n`` honest creators: views ~ followers^0.8 and engagement per view that vary a little."""
    rng = np.random.default_rng(seed)
    rows = []
    for followers in np.exp(rng.uniform(np.log(2_000), np.log(2_000_000), n)):
        row = _creator(followers, 0.5 * followers**0.8 * np.exp(rng.normal(0, 0.3)))
        for col in ("c_like_rate", "c_comment_rate", "c_share_rate", "c_gpm_90d", "c_x_fans_growth_30d"):
            row[col] *= float(np.exp(rng.normal(0, 0.2)))
        rows.append(row)
    return rows


FAKES = {
    "bought_followers": _creator(300_000, 0.5 * 30_000**0.8, growth=0.2),  # 10x followers, recent, few views
    "bought_views": _creator(50_000, 10 * 0.5 * 50_000**0.8, dilution=10.0),  # 10x views nobody engages with
    "bought_both": _creator(400_000, 8 * 0.5 * 50_000**0.8, dilution=8.0),
}
VIRAL = _creator(50_000, 5 * 0.5 * 50_000**0.8)  # honest: many views and engagement to match
for col in ("c_like_rate", "c_comment_rate", "c_share_rate", "c_gpm_90d"):
    VIRAL[col] *= 2.0


def _tables(rows: dict[str, dict[str, float]], names: list[str] = NAMES) -> FeatureTables:
    frame = pd.DataFrame.from_dict(rows, orient="index")
    return FeatureTables(
        cutoff=pd.Timestamp("2026-06-30"),
        creators=Vocabulary(list(frame.index)),
        products=Vocabulary([]),
        categories=[],
        creator_names=names,
        product_names=[],
        pair_names=[],
        creator=frame[names].to_numpy(np.float32),
        product=np.zeros((0, 0), np.float32),
        arrays={"creator_usual_log_price": frame["usual_log_price"].to_numpy(np.float32)},
    )


@pytest.fixture(scope="module")
def tables() -> FeatureTables:
    rows = {f"honest{i}": row for i, row in enumerate(_honest(60))}
    return _tables({**rows, **FAKES, "viral": VIRAL})


def test_the_obvious_fakes_and_only_they_are_flagged(tables: FeatureTables) -> None:
    flags = engagement_flags(tables, contamination=3 / 64, seed=0)
    assert flags.score.shape == (64,) and flags.score.dtype == np.float64 and flags.flagged.dtype == bool
    flagged = {tables.creators.id(int(r)) for r in np.flatnonzero(flags.flagged)}
    assert flagged == set(FAKES)
    viral = tables.creators.row("viral")
    assert flags.score[viral] == 0.0  # many views with the engagement to match is never suspect


def test_each_kind_is_found_by_its_tell(tables: FeatureTables) -> None:
    X = engagement_inputs(tables)
    detector = FakeEngagementDetector(contamination=0.05, seed=0).fit(X)
    tells = detector.tells(X)
    row = tables.creators.row
    assert tells[row("bought_followers"), 0] < -3  # views per follower far below typical
    assert tells[row("bought_followers"), 1] > 3  # follower growth far above typical
    assert tells[row("bought_views"), 0] > 3 and tells[row("bought_views"), 2] < -3  # views up, engagement down
    assert tells[row("bought_both"), 2] < -3


def test_estimator_contract_and_determinism(tables: FeatureTables) -> None:
    X = engagement_inputs(tables)
    detector = FakeEngagementDetector(contamination=0.1, support_fraction=0.8, seed=3)
    assert vars(detector) == {"contamination": 0.1, "support_fraction": 0.8, "max_samples": 10_000, "seed": 3}
    assert detector.fit(X) is detector
    learned = [
        name for name in vars(detector) if name not in ("contamination", "support_fraction", "max_samples", "seed")
    ]
    assert learned and all(name.endswith("_") for name in learned)
    again = FakeEngagementDetector(contamination=0.1, support_fraction=0.8, seed=3).fit(X)
    np.testing.assert_array_equal(detector.score_samples(X), again.score_samples(X))
    with pytest.raises(ValueError, match="input matrix"):
        detector.score_samples(X[:, :3])


def test_without_growth_data_the_other_tells_still_find_view_buyers(tables: FeatureTables) -> None:
    names = [n for n in NAMES if n != "c_x_fans_growth_30d"]
    rows = {f"honest{i}": row for i, row in enumerate(_honest(60))}
    no_growth = _tables({**rows, **FAKES}, names)
    assert np.isnan(engagement_inputs(no_growth)[:, INPUT_NAMES.index("log_fans_growth_30d")]).all()
    flags = engagement_flags(no_growth, contamination=2 / 63, seed=0)
    flagged = {no_growth.creators.id(int(r)) for r in np.flatnonzero(flags.flagged)}
    assert flagged == {"bought_views", "bought_both"}


def test_contamination_zero_and_tiny_tables_flag_nobody(tables: FeatureTables) -> None:
    assert not engagement_flags(tables, contamination=0.0).flagged.any()
    few = _tables({f"honest{i}": row for i, row in enumerate(_honest(5))} | {"bought_views": FAKES["bought_views"]})
    flags = engagement_flags(few, contamination=0.2)
    assert not flags.flagged.any() and (flags.score == 0).all()


def test_flags_round_trip_as_npy(tmp_path: Path, tables: FeatureTables) -> None:
    flags = engagement_flags(tables, contamination=0.05)
    flags.save(tmp_path)
    loaded = EngagementFlags.load(tmp_path)
    np.testing.assert_array_equal(loaded.score, flags.score)
    np.testing.assert_array_equal(loaded.flagged, flags.flagged)
    assert not EngagementFlags.none(4).flagged.any()
