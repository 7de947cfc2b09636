"""Fake engagement in the synthetic marketplace: creators who bought followers (僵尸粉, zombie fans) or views.

A share of creators (``SynthConfig.fake_engagement_share``, default 5%) is chosen; of them 40% bought followers
only, 30% views only and 30% both. Only what the platform *observes* is inflated — the hidden truth
(:class:`recsys.core.synth.truth.GroundTruth`: real reach, skill, the funnel) stays the real one, and so do every
click, order, GMV figure and refund, since bought accounts never buy:

- **bought followers**: the creator's ``followers`` are multiplied by a factor uniform in 2–10 (the fan tier shown
  rises with it). The zombie fans were bought at a steady pace over a buying period of 60–720 days that ends now
  for 70% of buyers and 30–365 days ago for the rest; the ones bought in the last 30 days show in
  ``fans_growth_30d`` (growth = followers gained in 30 days / followers 30 days ago). ``avg_views``, the
  engagement rates and every promotion are unchanged: zombie fans watch nothing.
- **bought views**: each of the creator's promotions is boosted with a probability uniform in 0.6–1.0 per creator,
  its ``views`` multiplied by the creator's factor (uniform in 2–10) times log-normal noise (σ 0.25), at least
  1.2×. Bot views do not like, comment, share or click, and finish a video 3% of the time: the promotion's
  ``likes``, ``comments``, ``shares``, ``clicks``, ``orders`` and ``gmv`` are unchanged (views → orders collapses),
  its ``completion_rate`` is diluted. In the creators table ``avg_views`` is multiplied by the expected boost
  ``m = 1 + q·(factor − 1)`` (q: the boosted share), ``like_rate``, ``comment_rate`` and ``share_rate`` (per view)
  divided by it and ``completion_rate`` diluted the same way.

Every draw comes from its own generator, ``default_rng([seed, FAKE_ENGAGEMENT_STREAM])``, after everything else is
generated (capacities included, so a creator's ``weekly_capacity`` follows its real fan tier): every value not
belonging to a fake creator is the same as without fake engagement, for the same seed. The record of who bought
what (:class:`FakeEngagement`) is saved with the ground truth, in ``ground_truth/fake_engagement.parquet``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

FAKE_ENGAGEMENT_STREAM = 17  # the second word of the fake-engagement seed: default_rng([seed, 17])
KIND_SHARES = (0.4, 0.3, 0.3)  # followers only, views only, both
FACTOR_RANGE = (2.0, 10.0)  # inflation factor of followers and of views, uniform
BOOSTED_SHARE_RANGE = (0.6, 1.0)  # share of a view buyer's promotions that got bought views
VIEW_NOISE_SIGMA = 0.25  # per-promotion log-normal noise of the view factor
MIN_PROMOTION_FACTOR = 1.2
BOT_COMPLETION = 0.03  # completion rate of a bought view
BUYING_DAYS_RANGE = (60.0, 720.0)  # how long a follower buyer has been buying
STOPPED_SHARE = 0.3  # follower buyers who stopped buying 30–365 days ago
STOPPED_DAYS_RANGE = (30.0, 365.0)
GROWTH_DAYS = 30  # the window of fans_growth_30d
FILE_NAME = "fake_engagement.parquet"


@dataclass
class FakeEngagement:
    """Who bought followers or views, row-aligned with the creators table; factors are 1 where nothing was bought."""

    creator_ids: np.ndarray
    bought_followers: np.ndarray  # (n_c,) bool
    bought_views: np.ndarray  # (n_c,) bool
    follower_factor: np.ndarray  # (n_c,) observed / real followers
    view_factor: np.ndarray  # (n_c,) observed / real avg_views (the expected boost m)
    real_followers: np.ndarray  # (n_c,) int64, before inflation

    @property
    def fake(self) -> np.ndarray:
        """Creators who bought followers, views or both; (n_c,) bool."""
        return np.asarray(self.bought_followers | self.bought_views)

    def fake_of(self, creator_ids: np.ndarray | list[str]) -> np.ndarray:
        """Whether each of ``creator_ids`` is fake (in that order); an unknown id raises ``KeyError``."""
        rows = pd.Index(self.creator_ids).get_indexer(np.asarray(creator_ids))
        if (rows < 0).any():
            raise KeyError("unknown creator id in the fake-engagement truth")
        return np.asarray(self.fake[rows])

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "creator_id": self.creator_ids,
                "bought_followers": self.bought_followers,
                "bought_views": self.bought_views,
                "follower_factor": self.follower_factor,
                "view_factor": self.view_factor,
                "real_followers": self.real_followers,
            }
        )

    def save(self, ground_truth_dir: Path) -> None:
        self.frame().to_parquet(ground_truth_dir / FILE_NAME, index=False)

    @classmethod
    def load(cls, ground_truth_dir: Path) -> FakeEngagement | None:
        """The record in ``ground_truth_dir``, or None if the world was generated without one."""
        path = ground_truth_dir / FILE_NAME
        if not path.is_file():
            return None
        f = pd.read_parquet(path)
        return cls(
            creator_ids=f["creator_id"].to_numpy(),
            bought_followers=f["bought_followers"].to_numpy(bool),
            bought_views=f["bought_views"].to_numpy(bool),
            follower_factor=f["follower_factor"].to_numpy(np.float64),
            view_factor=f["view_factor"].to_numpy(np.float64),
            real_followers=f["real_followers"].to_numpy(np.int64),
        )


def _choose(rng: np.random.Generator, n: int, share: float) -> tuple[np.ndarray, np.ndarray]:
    """Bought-followers and bought-views masks: exactly round(share · n) fake creators, kinds by KIND_SHARES."""
    rows = np.sort(rng.choice(n, size=round(share * n), replace=False))
    kind = rng.choice(3, size=len(rows), p=KIND_SHARES)
    followers, views = np.zeros(n, bool), np.zeros(n, bool)
    followers[rows[kind != 1]] = True
    views[rows[kind != 0]] = True
    return followers, views


def _recent_bought_share(rng: np.random.Generator, n: int) -> np.ndarray:
    """Share of each buyer's bought followers that arrived in the last GROWTH_DAYS days."""
    length = rng.uniform(*BUYING_DAYS_RANGE, n)
    gap = np.where(rng.random(n) < STOPPED_SHARE, rng.uniform(*STOPPED_DAYS_RANGE, n), 0.0)
    overlap = np.clip(GROWTH_DAYS - gap, 0.0, None)
    return np.minimum(overlap, length) / length


def _inflate_followers(
    creators: pd.DataFrame, bought: np.ndarray, factor: np.ndarray, recent: np.ndarray
) -> dict[str, np.ndarray]:
    real = creators["followers"].to_numpy(np.int64)
    observed = np.where(bought, np.round(real * factor), real).astype(np.int64)
    out = {"followers": observed}
    if "fans_growth_30d" in creators:
        growth = creators["fans_growth_30d"].to_numpy(np.float64)
        real_gained = real * growth / (1.0 + growth)
        bought_gained = (observed - real) * recent
        before = observed - real_gained - bought_gained
        seen = np.round((real_gained + bought_gained) / np.maximum(before, 1.0), 5)
        out["fans_growth_30d"] = np.where(bought, seen, growth)
    return out


def _dilute(creators: pd.DataFrame, bought: np.ndarray, boost: np.ndarray) -> dict[str, np.ndarray]:
    """Creator-table columns of view buyers: avg_views x boost, per-view rates / boost, completion diluted."""
    out: dict[str, np.ndarray] = {}
    views = creators["avg_views"].to_numpy(np.float64)
    out["avg_views"] = np.where(bought, np.round(views * boost, 1), views)
    for col, digits in (("like_rate", 5), ("comment_rate", 5), ("share_rate", 5)):
        if col in creators:
            rate = creators[col].to_numpy(np.float64)
            out[col] = np.where(bought, np.round(rate / boost, digits), rate)
    if "completion_rate" in creators:
        rate = creators["completion_rate"].to_numpy(np.float64)
        seen = (rate + BOT_COMPLETION * (boost - 1.0)) / boost
        out["completion_rate"] = np.where(bought, np.round(seen, 4), rate)
    return out


def _boost_promotions(
    rng: np.random.Generator, promotions: pd.DataFrame, creator_ids: np.ndarray, factor: np.ndarray, share: np.ndarray
) -> pd.DataFrame:
    """Promotions of view buyers with bought views: views x factor, completion diluted, everything else as it was."""
    row = pd.Index(creator_ids).get_indexer(promotions["creator_id"])
    n = len(promotions)
    boosted_draw = rng.random(n)
    noise = rng.lognormal(0.0, VIEW_NOISE_SIGMA, n)
    known = row >= 0
    c = np.where(known, row, 0)
    boosted = known & (factor[c] > 1.0) & (boosted_draw < share[c])
    if not boosted.any():
        return promotions
    views = promotions["views"].to_numpy(np.int64)
    multiplier = np.maximum(factor[c] * noise, MIN_PROMOTION_FACTOR)
    seen_views = np.where(boosted, np.floor(views * multiplier), views).astype(np.int64)
    completion = promotions["completion_rate"].to_numpy(np.float64)
    bot_views = seen_views - views
    diluted = np.divide(
        completion * views + BOT_COMPLETION * bot_views,
        seen_views,
        out=completion.copy(),
        where=seen_views > 0,
    )
    return promotions.assign(views=seen_views, completion_rate=np.where(boosted, np.round(diluted, 4), completion))


def add_fake_engagement(
    seed: int, share: float, creators: pd.DataFrame, promotions: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, FakeEngagement]:
    """``creators`` and ``promotions`` as the platform observes them when ``share`` of the creators bought
    followers and/or views (new frames; other rows unchanged), and the record of who bought what. Draws come from
    ``default_rng([seed, FAKE_ENGAGEMENT_STREAM])`` in a fixed order: choice, factors, then promotions."""
    rng = np.random.default_rng([seed, FAKE_ENGAGEMENT_STREAM])
    n = len(creators)
    bought_followers, bought_views = _choose(rng, n, share)
    follower_draw = rng.uniform(*FACTOR_RANGE, n)
    view_draw = rng.uniform(*FACTOR_RANGE, n)
    boosted_share = rng.uniform(*BOOSTED_SHARE_RANGE, n)
    recent = _recent_bought_share(rng, n)
    follower_factor = np.where(bought_followers, follower_draw, 1.0)
    view_factor = np.where(bought_views, view_draw, 1.0)
    expected_boost = np.where(bought_views, 1.0 + boosted_share * (view_draw - 1.0), 1.0)
    ids = creators["creator_id"].to_numpy()
    observed = creators.assign(
        **_inflate_followers(creators, bought_followers, follower_factor, recent),
        **_dilute(creators, bought_views, expected_boost),
    )
    promotions = _boost_promotions(rng, promotions, ids, view_factor, np.where(bought_views, boosted_share, 0.0))
    observed_followers = observed["followers"].to_numpy(np.int64)
    real_followers = creators["followers"].to_numpy(np.int64)
    record = FakeEngagement(
        creator_ids=ids,
        bought_followers=bought_followers,
        bought_views=bought_views,
        follower_factor=np.where(bought_followers, observed_followers / np.maximum(real_followers, 1), 1.0),
        view_factor=expected_boost,
        real_followers=real_followers,
    )
    return observed, promotions, record


__all__ = ["FAKE_ENGAGEMENT_STREAM", "FakeEngagement", "add_fake_engagement"]
