"""What every method of the market protocol shares: the methods, the world (engine, truth, each round's plan rules,
capacities, stock) and the constants of the simulation. See :mod:`recsys.app.experiments.synthetic.market`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import ndtri

from models.engine import Engine
from models.matching.market import period_load
from models.matching.rulebook import aligned_planbook
from recsys.app.experiments.synthetic.evaluation import feature_column, truth_rows
from recsys.app.experiments.synthetic.experiment import Config, Split
from recsys.core.config import MatchingSettings, Settings
from recsys.core.rules import PlanBook
from recsys.core.schema import PROMOTION_FORMATS, Marketplace
from recsys.core.synth import GroundTruth
from recsys.core.vocab import Direction, FanTier, find_sorted, sorted_unique

POPULARITY = "popularity"
PER_QUERY = "per-query pipeline (today)"
CAPACITY_AWARE = "capacity-aware pipeline"
ORACLE = "oracle (allocation LP, upper bound)"
OMNISCIENT = "omniscient lists (true values, same rounds)"
ROUND_LP = "round LP on predicted GMV (diagnostic)"
ABLATIONS: dict[str, dict[str, object]] = {
    "capacity-aware, with allocation prices": {"allocation": True},
    "capacity-aware, no exposure decay": {"exposure_decay": 0.0},
    "capacity-aware, no new-creator boost": {"new_creator_boost": 0.0},
    "capacity-aware, no category diversity": {"category_diversity": 0.0},
    "capacity-aware, no capacity room": {"capacity_room": 0.0},
    "capacity-aware, hiding full creators": {"full_creators": "hide"},
    "capacity-aware, displacing into full creators": {"full_creators": "displace"},
}
ACTIVITY_PRICES = "capacity-aware, allocation prices at the market's activity"  # allocation_activity = inviting share
PRIMARY = "new_gmv"
WEEK_DAYS = 7
WEEK = pd.Timedelta(days=WEEK_DAYS)
# A round's collaborations are dated just before its now: then the next round's trailing week [now − 7 d, now) ends
# before them at either end, whichever end a load count closes — every round is a fresh week.
DATED_BEFORE_NOW = pd.Timedelta(seconds=1)
STREAM = 13  # seeds of the market's own random draws: [seed, STREAM, ...]
ACCEPTED, NO_CAPACITY, NO_SAMPLES = 0, 1, 2
COUNTS = (
    "invites",
    "invites_accepted",
    "invites_declined_capacity",
    "invites_declined_samples",
    "invites_ineligible",
    "pool_accepted",
)


@dataclass(frozen=True)
class Method:
    """A way of building the lists: the matcher with ``matching`` settings, or popularity (``matching`` None)."""

    name: str
    matching: MatchingSettings | None


def market_methods(config: Config, settings: Settings) -> list[Method]:
    """Popularity, today's per-query pipeline, the capacity-aware pipeline and (optionally) its ablations."""
    base = settings.matching
    methods = [
        Method(POPULARITY, None),
        Method(PER_QUERY, MatchingSettings.per_query()),
        Method(CAPACITY_AWARE, base),
        Method(OMNISCIENT, None),  # a diagnostic: what perfect lists reach in these rounds (omniscient.py)
        Method(ROUND_LP, base),  # a diagnostic: the same LP on the pipeline's candidates and predictions
    ]
    if config.market_ablations:
        methods += [Method(name, base.model_copy(update=change)) for name, change in ABLATIONS.items()]
        activity = {"allocation": True, "allocation_activity": config.market_inviting_share}
        methods.append(Method(ACTIVITY_PRICES, base.model_copy(update=activity)))
    return methods


# --- the world every method shares ----------------------------------------------------------------------------


@dataclass
class World:
    """What is the same for every method: the engine, the truth, each round's plan rules, capacities, stock."""

    engine: Engine
    truth: GroundTruth
    past: Marketplace
    settings: Settings
    config: Config
    seed: int
    nows: list[pd.Timestamp]
    books: list[PlanBook]  # the plan rules at each round's now, rows aligned with the engine
    truth_c: np.ndarray  # ground-truth row of each creator row
    truth_p: np.ndarray
    capacity: np.ndarray  # int64 weekly capacity per creator row
    load0: np.ndarray  # int64 load at round 0 (last week of history)
    stock0: np.ndarray  # int64 samples per product row at test_start
    tier: np.ndarray  # fan tier code per creator row
    followers: np.ndarray
    population: np.ndarray  # creator rows admitted in some round: the creators every figure is about
    past_keys: np.ndarray  # sorted pair keys (creator row * n_products + product row) promoted before test_start
    market_product_rows: np.ndarray  # product row of each row of past.products
    creator_format: np.ndarray  # object: each creator's main promotion format (for its promotions rows)
    popularity_c: np.ndarray  # c_log_gmv_90d per creator row
    popularity_p: np.ndarray  # p_log_gmv_90d per product row

    @property
    def n_c(self) -> int:
        return len(self.engine.tables.creators)

    @property
    def n_p(self) -> int:
        return len(self.engine.tables.products)

    @classmethod
    def build(cls, split: Split, config: Config, seed: int) -> World:
        engine, past = split.engine, split.past
        tables = engine.tables
        nows = [split.test_start + r * WEEK for r in range(config.market_rounds)]
        books = [aligned_planbook(past, tables, split.settings.rules, now.to_pydatetime()) for now in nows]
        n_c, n_p = len(tables.creators), len(tables.products)
        truth_c, _ = truth_rows(split.truth, engine, np.arange(n_c), np.zeros(n_c, np.int64))
        _, truth_p = truth_rows(split.truth, engine, np.zeros(n_p, np.int64), np.arange(n_p))
        creators = past.creators.set_index("creator_id").reindex(tables.creators.ids)
        followers = creators["followers"].fillna(0).to_numpy(np.int64)
        tier = FanTier.codes(followers)
        by_tier = split.settings.matching.capacity_by_tier()
        capacity = np.array([by_tier[FanTier(t)] for t in FanTier], np.int64)[tier]
        if "weekly_capacity" in creators:
            given = pd.to_numeric(creators["weekly_capacity"], errors="coerce").to_numpy(np.float64)
            capacity = np.where(np.isfinite(given), np.maximum(given, 0), capacity).astype(np.int64)
        products = past.products.set_index("product_id").reindex(tables.products.ids)
        stock = np.full(n_p, np.iinfo(np.int32).max, np.int64)  # no column: unlimited
        if "sample_stock" in products:
            given = pd.to_numeric(products["sample_stock"], errors="coerce").to_numpy(np.float64)
            stock = np.where(np.isfinite(given), np.maximum(given, 0), stock).astype(np.int64)
        market_rows = tables.products.rows(past.products["product_id"])
        if (market_rows < 0).any():
            raise ValueError("the engine lacks products of the pre-test marketplace")
        admitted = np.logical_or.reduce([b.admitted_creators for b in books])
        c = tables.creators.rows(past.promotions["creator_id"])
        p = tables.products.rows(past.promotions["product_id"])
        known = (c >= 0) & (p >= 0)
        main_format = np.argmax(split.truth.format_weights[truth_c], axis=1)
        return cls(
            engine=engine,
            truth=split.truth,
            past=past,
            settings=split.settings,
            config=config,
            seed=seed,
            nows=nows,
            books=books,
            truth_c=truth_c,
            truth_p=truth_p,
            capacity=capacity,
            load0=period_load(past.promotions, tables.creators, tables.products, nows[0], WEEK_DAYS),
            stock0=stock,
            tier=tier,
            followers=followers,
            population=np.flatnonzero(admitted),
            past_keys=sorted_unique(c[known] * n_p + p[known]),
            market_product_rows=market_rows,
            creator_format=np.array(PROMOTION_FORMATS, dtype=object)[main_format],
            popularity_c=feature_column(tables, Direction.CREATOR, "c_log_gmv_90d"),
            popularity_p=feature_column(tables, Direction.PRODUCT, "p_log_gmv_90d"),
        )

    def true_gmv(self, c: np.ndarray, p: np.ndarray, rate: np.ndarray) -> np.ndarray:
        """True expected GMV of (creator row, product row) pairs at ``rate`` (the creator's usual format mix)."""
        return self.truth.expected_gmv(self.truth_c[c], self.truth_p[p], rate=rate)

    def preference_noise(self, c: np.ndarray, p: np.ndarray) -> np.ndarray:
        """Log-normal noise of each creator's estimate of a pair, one draw per (seed, pair): the same in every
        method and round (a hash of the pair, not a generator whose draws depend on what else was drawn)."""
        x = (np.asarray(c, np.uint64) * np.uint64(self.n_p) + np.asarray(p, np.uint64)) ^ np.uint64(
            (self.seed * 0x9E3779B97F4A7C15 + STREAM) % 2**64
        )
        with np.errstate(over="ignore"):  # splitmix64: wrapping arithmetic on purpose
            x = x + np.uint64(0x9E3779B97F4A7C15)
            x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            x = x ^ (x >> np.uint64(31))
        u = ((x >> np.uint64(11)).astype(np.float64) + 0.5) / 2.0**53
        return np.asarray(np.exp(self.config.market_preference_noise * ndtri(u)), dtype=np.float64)

    def order(self, r: int, n: int, what: int) -> np.ndarray:
        """A random order of ``n`` rows for round ``r`` (``what``: 0 products, 1 creators browsing, 2 creators
        deciding), the same for every method."""
        return np.random.default_rng([self.seed, STREAM, r, what]).permutation(n)


def member(sorted_keys: np.ndarray, keys: np.ndarray) -> np.ndarray:
    return find_sorted(sorted_keys, keys)[1] if len(sorted_keys) else np.zeros(len(keys), bool)
