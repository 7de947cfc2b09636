"""The ``market`` protocol of the synthetic experiment: weekly rounds of a simulated marketplace in which creators
take only so many new collaborations a week and products have only so many samples.

Same split and engine as the ranking protocol (:func:`~recsys.app.experiments.synthetic.experiment.train_split`).
Then ``market_rounds`` weekly rounds, round r at ``now_r = test_start + 7·r days``. Every method plays the rounds on
its own copy of the market:

1. **Lists.** Matcher methods assemble a matcher (:func:`~models.matching.assemble.assemble_matcher`) on the
   method's current market — the marketplace as it stood at test_start, plus the collaborations the method's lists
   led to in earlier rounds as promotions rows (dated at their round's ``now`` less a second, zero outcomes, the
   resolved plan), and products' ``sample_stock`` less the samples sent — at ``now_r``. Popularity lists the
   eligible new candidates by the other side's 90-day GMV (a feature as of test_start).
2. **Invitations.** A random ``market_inviting_share`` of the admitted products with samples left invite the top
   ``market_invites_per_product`` creators of their list (the random order of products is the same for every
   method; the stock filter is the method's own).
3. **Decisions.** Every creator with capacity left considers its invitations; a random ``market_browsing_share`` of
   them also opens its own pool and considers its top ``market_pool_size`` products. In a random order (the same for
   every method) each creator ranks its options by a private estimate of what it would earn — true expected GMV x
   the plan's rate x log-normal noise (sigma ``market_preference_noise``; one draw per pair, the same in every
   method and round) — and accepts the best ones up to its remaining capacity while the product still has samples;
   the other invitations are declined, for lack of capacity or because the samples ran out.

A creator's capacity in a round is its ``weekly_capacity`` minus its load, the distinct products it promoted in
``[now_r − 7 days, now_r)`` (as the matcher counts it): in round 0 its last week of history, later none — the
collaborations of round r − 1 are dated one second before ``now_{r−1}`` (see ``DATED_BEFORE_NOW``), so every round
is a fresh week, as a load count that closes either end of the week sees it. The simulation checks that the
matcher's market state holds the same load (``matcher_load_mismatch_*`` in the extra metrics when it does not).

A collaboration's value is its true expected GMV (:class:`~recsys.core.synth.GroundTruth`) at the resolved plan's
rate; a re-collaboration (the pair promoted before) is accepted like any other option but is not new and has no
value.

The oracle solves the allocation LP (:func:`~models.matching.allocation.allocate`) over a candidate graph of the
truly best new eligible pairs (per creator its best ``market_oracle_products_per_creator`` by true expected GMV, per
product its best ``market_oracle_creators_per_product``), a pair eligible if it is in any round, at its best rate
over the rounds (resolved in round 0, and again in a later round only where that can change it); creator capacity =
its capacity over all rounds (round 0 less its load), product capacity = its initial samples. It relaxes the round
structure and the creators' preferences: an upper bound.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.special import ndtri

from models.engine import Engine
from models.matching.allocation import allocate
from models.matching.assemble import assemble_matcher
from models.matching.matcher import Matcher
from models.matching.rulebook import aligned_planbook
from recsys.app.experiments.framework.base import ExperimentResult, MethodResult
from recsys.app.experiments.framework.rundir import method_slug
from recsys.app.experiments.synthetic.evaluation import truth_rows
from recsys.app.experiments.synthetic.experiment import DATASET, Config, Split, feature_column
from recsys.core import metrics
from recsys.core.config import MatchingSettings, Settings
from recsys.core.progress import stage
from recsys.core.rules import PlanBook
from recsys.core.schema import PROMOTION_FORMATS, Marketplace
from recsys.core.synth import GroundTruth
from recsys.core.vocab import Direction, FanTier, find_sorted

POPULARITY = "popularity"
PER_QUERY = "per-query pipeline (today)"
CAPACITY_AWARE = "capacity-aware pipeline"
ORACLE = "oracle (allocation LP, upper bound)"
ABLATIONS: dict[str, dict[str, object]] = {
    "capacity-aware, with allocation prices": {"allocation": True},
    "capacity-aware, no exposure decay": {"exposure_decay": 0.0},
    "capacity-aware, no new-creator boost": {"new_creator_boost": 0.0},
    "capacity-aware, no category diversity": {"category_diversity": 0.0},
}
PRIMARY = "new_gmv"
WEEK = pd.Timedelta(days=7)
# A round's collaborations are dated just before its now: then the next round's trailing week [now − 7 d, now) ends
# before them at either end, whichever end a load count closes — every round is a fresh week.
DATED_BEFORE_NOW = pd.Timedelta(seconds=1)
_STREAM = 13  # seeds of the market's own random draws: [seed, _STREAM, ...]
_ACCEPTED, _NO_CAPACITY, _NO_SAMPLES = 0, 1, 2
_COUNTS = (
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
    ]
    if config.market_ablations:
        methods += [Method(name, base.model_copy(update=change)) for name, change in ABLATIONS.items()]
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
            load0=current_load(past.promotions, tables.creators.index, tables.products.index, nows[0]),
            stock0=stock,
            tier=tier,
            followers=followers,
            population=np.flatnonzero(admitted),
            past_keys=np.unique(c[known] * n_p + p[known]),
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
            (self.seed * 0x9E3779B97F4A7C15 + _STREAM) % 2**64
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
        return np.random.default_rng([self.seed, _STREAM, r, what]).permutation(n)


def current_load(promotions: pd.DataFrame, creators: pd.Index, products: pd.Index, now: pd.Timestamp) -> np.ndarray:
    """Per creator (rows of ``creators``), its collaborations this week: distinct products it promoted in
    ``[now − 7 days, now)`` — the load the matcher's market state counts (``models.matching.market``)."""
    started = pd.to_datetime(promotions["started_at"]).to_numpy()
    recent = (started >= np.datetime64(now - WEEK)) & (started < np.datetime64(now))
    c = creators.get_indexer(pd.Index(promotions.loc[recent, "creator_id"]))
    p = products.get_indexer(pd.Index(promotions.loc[recent, "product_id"]))
    known = (c >= 0) & (p >= 0)
    pairs = np.unique(c[known].astype(np.int64) * len(products) + p[known])
    return np.bincount(pairs // len(products), minlength=len(creators)).astype(np.int64)


def _member(sorted_keys: np.ndarray, keys: np.ndarray) -> np.ndarray:
    return find_sorted(sorted_keys, keys)[1] if len(sorted_keys) else np.zeros(len(keys), bool)


# --- one method's run -------------------------------------------------------------------------------------------


@dataclass
class MethodRun:
    """One method's market: its stock, its collaborations so far and everything counted along the way."""

    method: Method
    stock: np.ndarray  # int64 samples left per product row
    keys: np.ndarray  # sorted pair keys that collaborated (before test_start or in an earlier round)
    gmv: np.ndarray  # per creator row: true expected GMV of its new collaborations
    collaborations: np.ndarray  # per creator row, accepted (new or not)
    new: np.ndarray  # per creator row, accepted new pairs
    creator_slots: np.ndarray  # per creator row: times in a product's list
    product_slots: np.ndarray  # per product row: times in a creator's pool
    added: list[pd.DataFrame] = field(default_factory=list)  # promotions rows of accepted collaborations
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_COUNTS, 0))
    gmv_per_round: list[float] = field(default_factory=list)
    load_mismatch: int = 0  # creators whose load the matcher saw differently (should stay 0)

    @classmethod
    def start(cls, method: Method, world: World) -> MethodRun:
        n_c, n_p = world.n_c, world.n_p
        return cls(
            method,
            world.stock0.copy(),
            world.past_keys.copy(),
            np.zeros(n_c),
            np.zeros(n_c, np.int64),
            np.zeros(n_c, np.int64),
            np.zeros(n_c, np.int64),
            np.zeros(n_p, np.int64),
        )

    def promotions(self, world: World) -> pd.DataFrame:
        return (
            pd.concat([world.past.promotions, *self.added], ignore_index=True) if self.added else world.past.promotions
        )

    def market(self, world: World, promotions: pd.DataFrame) -> Marketplace:
        past = world.past
        products = past.products.assign(sample_stock=self.stock[world.market_product_rows])
        return Marketplace(past.merchants, products, past.creators, past.plans, promotions, past.orders)


Lister = Callable[[int], np.ndarray]


def _popularity_lists(world: World, book: PlanBook, keys: np.ndarray) -> tuple[Lister, Lister]:
    """(creators for a product, products for a creator): eligible new candidates by 90-day GMV, k each."""
    n_p, config = world.n_p, world.config

    def creators_for(p: int) -> np.ndarray:
        rows = np.flatnonzero(book.eligible_creators_mask(p))
        rows = rows[~_member(keys, rows * n_p + p)]
        return rows[np.lexsort((rows, -world.popularity_c[rows]))][: config.market_invites_per_product]

    def products_for(c: int) -> np.ndarray:
        rows = np.flatnonzero(book.eligible_products_mask(c))
        rows = rows[~_member(keys, c * n_p + rows)]
        return rows[np.lexsort((rows, -world.popularity_p[rows]))][: config.market_pool_size]

    return creators_for, products_for


def _matcher_lists(world: World, matcher: Matcher) -> tuple[Lister, Lister]:
    tables, config = world.engine.tables, world.config

    def creators_for(p: int) -> np.ndarray:
        recs = matcher.recommend_creators(tables.products.id(p), k=config.market_invites_per_product)
        return np.array([x.creator_row for x in recs], np.int64)

    def products_for(c: int) -> np.ndarray:
        recs = matcher.recommend_products(tables.creators.id(c), k=config.market_pool_size)
        return np.array([x.product_row for x in recs], np.int64)

    return creators_for, products_for


def play_round(world: World, run: MethodRun, r: int) -> None:
    """Round ``r`` of one method: lists on its current market, invitations, the creators' decisions."""
    config, tables, book, now = world.config, world.engine.tables, world.books[r], world.nows[r]
    promotions = run.promotions(world)
    load = current_load(promotions, tables.creators.index, tables.products.index, now)
    left = np.maximum(world.capacity - load, 0)
    if run.method.matching is None:
        creators_for, products_for = _popularity_lists(world, book, run.keys)
    else:
        settings = world.settings.model_copy(update={"matching": run.method.matching})
        matcher = assemble_matcher(world.engine, run.market(world, promotions), settings, now.to_pydatetime())
        seen = matcher.market.state.creator_load  # the load its capacity view rests on: must be the market's
        run.load_mismatch += int(np.count_nonzero(seen[world.population] != load[world.population]))
        creators_for, products_for = _matcher_lists(world, matcher)

    products = world.order(r, world.n_p, 0)
    products = products[book.admitted_products[products] & (run.stock[products] > 0)]
    products = products[: math.ceil(config.market_inviting_share * len(products))]
    invited = [creators_for(int(p)) for p in products]
    inv_c = np.concatenate([np.empty(0, np.int64), *invited])
    inv_p = np.repeat(products, [len(x) for x in invited]).astype(np.int64)
    creators = world.order(r, world.n_c, 1)
    creators = creators[book.admitted_creators[creators] & (left[creators] > 0)]
    creators = creators[: math.ceil(config.market_browsing_share * len(creators))]
    pools = [products_for(int(c)) for c in creators]
    pool_p = np.concatenate([np.empty(0, np.int64), *pools])
    pool_c = np.repeat(creators, [len(x) for x in pools]).astype(np.int64)
    np.add.at(run.creator_slots, inv_c, 1)
    np.add.at(run.product_slots, pool_p, 1)
    decide(
        world,
        run,
        r,
        np.r_[inv_c, pool_c],
        np.r_[inv_p, pool_p],
        np.r_[np.ones(len(inv_c), bool), np.zeros(len(pool_c), bool)],
        left,
    )


def decide(
    world: World, run: MethodRun, r: int, c: np.ndarray, p: np.ndarray, invited: np.ndarray, left: np.ndarray
) -> None:
    """The creators' decisions on their options (invitations and pool picks), and their consequences."""
    n_p, book, now = world.n_p, world.books[r], world.nows[r]
    key = c * n_p + p
    o = np.lexsort((~invited, key))  # a pair both invited and in the pool counts as an invitation
    first = np.r_[True, key[o][1:] != key[o][:-1]] if len(o) else np.empty(0, bool)
    c, p, invited, key = c[o[first]], p[o[first]], invited[o[first]], key[o[first]]
    run.counts["invites"] += int(invited.sum())
    res = book.resolve_pairs(c, p)
    ok = res.eligible
    run.counts["invites_ineligible"] += int((invited & ~ok).sum())
    c, p, invited, key = c[ok], p[ok], invited[ok], key[ok]
    rate, plan_row = res.rate[ok], res.plan_row[ok]
    gmv = world.true_gmv(c, p, rate)
    preference = gmv * rate * world.preference_noise(c, p)
    rank = np.empty(world.n_c, np.int64)
    rank[world.order(r, world.n_c, 2)] = np.arange(world.n_c)
    status = np.full(len(c), _ACCEPTED, np.int8)
    room = left.copy()
    stock = run.stock
    for i in np.lexsort((p, -preference, rank[c])).tolist():
        ci, pi = int(c[i]), int(p[i])
        if room[ci] <= 0:
            status[i] = _NO_CAPACITY
        elif stock[pi] <= 0:
            status[i] = _NO_SAMPLES
        else:
            room[ci] -= 1
            stock[pi] -= 1
    accepted = status == _ACCEPTED
    run.counts["invites_accepted"] += int((accepted & invited).sum())
    run.counts["invites_declined_capacity"] += int(((status == _NO_CAPACITY) & invited).sum())
    run.counts["invites_declined_samples"] += int(((status == _NO_SAMPLES) & invited).sum())
    run.counts["pool_accepted"] += int((accepted & ~invited).sum())
    c, p, key, gmv, plan_row = c[accepted], p[accepted], key[accepted], gmv[accepted], plan_row[accepted]
    new = ~_member(run.keys, key)
    value = np.where(new, gmv, 0.0)
    np.add.at(run.gmv, c, value)
    np.add.at(run.collaborations, c, 1)
    np.add.at(run.new, c, new.astype(np.int64))
    run.gmv_per_round.append(float(value.sum()))
    run.keys = np.union1d(run.keys, key)
    run.added.append(_promotion_rows(world, run, r, c, p, book.plan_ids[plan_row], now))


def _promotion_rows(
    world: World, run: MethodRun, r: int, c: np.ndarray, p: np.ndarray, plan_ids: np.ndarray, now: pd.Timestamp
) -> pd.DataFrame:
    """Accepted collaborations as promotions rows: dated just before the round's now, no outcomes yet."""
    tables, n = world.engine.tables, len(c)
    zeros = np.zeros(n, np.int64)
    return pd.DataFrame(
        {
            "promotion_id": [f"sim-{method_slug(run.method.name)}-r{r}-{i:06d}" for i in range(n)],
            "creator_id": tables.creators.ids[c],
            "product_id": tables.products.ids[p],
            "plan_id": plan_ids,
            "started_at": pd.DatetimeIndex(np.full(n, np.datetime64(now - DATED_BEFORE_NOW, "ns"))),
            "format": world.creator_format[c],
            "views": zeros,
            "likes": zeros,
            "comments": zeros,
            "shares": zeros,
            "completion_rate": np.zeros(n),
            "clicks": zeros,
            "orders": zeros,
            "gmv": np.zeros(n),
            "refunds": zeros,
        }
    )


# --- the oracle -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OracleAllocation:
    c: np.ndarray  # creator rows of the allocated pairs
    p: np.ndarray
    value: np.ndarray  # true expected GMV of each allocated pair
    edges: int  # edges of the candidate graph
    creator_capacity: np.ndarray  # per creator row, over all rounds


def oracle(world: World, chunk: int = 128) -> OracleAllocation:
    """The allocation LP over the truly best new eligible pairs (see the module doc)."""
    config, n_p = world.config, world.n_p
    k_c, k_p = config.market_oracle_products_per_creator, config.market_oracle_creators_per_product
    edge_keys, edge_values = [], []
    col_values, col_rows = np.zeros((0, n_p)), np.zeros((0, n_p), np.int64)
    # A pair's rate changes between rounds only when it becomes eligible (merchant admitted, plan opened) or a
    # plan of its product starts (plans ending only lower it; budgets and tier units stay as at test_start).
    starts = pd.to_datetime(world.past.plans["starts_at"])
    started = (starts > world.nows[0]) & (starts <= world.nows[-1])
    changed = np.zeros(n_p, bool)
    rows = world.engine.tables.products.rows(world.past.plans.loc[started, "product_id"])
    changed[rows[rows >= 0]] = True
    for lo in range(0, len(world.population), chunk):
        creators = world.population[lo : lo + chunk]
        dense = np.zeros((len(creators), n_p))
        for i, c in enumerate(creators.tolist()):
            rate = np.full(n_p, np.nan)
            for r, book in enumerate(world.books):
                mask = book.eligible_products_mask(c)
                if r:  # later rounds: only pairs that became eligible or whose product has a plan that started
                    mask &= ~np.isfinite(rate) | changed
                rows = np.flatnonzero(mask)
                if len(rows):
                    rate[rows] = np.fmax(rate[rows], book.products_for_creator(c, rows).rate)
            rows = np.flatnonzero(np.isfinite(rate))
            rows = rows[~_member(world.past_keys, c * n_p + rows)]
            dense[i, rows] = world.true_gmv(np.full(len(rows), c), rows, rate[rows])
        best = np.argpartition(-dense, min(k_c, n_p) - 1, axis=1)[:, :k_c]
        values = np.take_along_axis(dense, best, axis=1)
        edge_keys.append((creators[:, None] * n_p + best).ravel())
        edge_values.append(values.ravel())
        col_values, col_rows = _merge_columns(col_values, col_rows, dense, creators, k_p)
    edge_keys.append((col_rows * n_p + np.arange(n_p)).ravel())
    edge_values.append(col_values.ravel())
    keys, first = np.unique(np.concatenate(edge_keys), return_index=True)
    value = np.concatenate(edge_values)[first]
    keep = value > 0
    keys, value = keys[keep], value[keep]
    c, p = keys // n_p, keys % n_p
    capacity = np.maximum(world.capacity - world.load0, 0) + world.capacity * (config.market_rounds - 1)
    solved = allocate(c, p, value, capacity, world.stock0.astype(np.float64))
    take = solved.take
    return OracleAllocation(c[take], p[take], value[take], len(keys), capacity)


def _merge_columns(
    col_values: np.ndarray, col_rows: np.ndarray, dense: np.ndarray, creators: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Keep each product's ``k`` best creators seen so far (values and creator rows), adding a chunk ``dense``."""
    values = np.vstack([col_values, dense])
    rows = np.vstack([col_rows, np.broadcast_to(creators[:, None], dense.shape)])
    if values.shape[0] <= k:
        return values, rows
    top = np.argpartition(-values, k - 1, axis=0)[:k]
    return np.take_along_axis(values, top, axis=0), np.take_along_axis(rows, top, axis=0)


# --- the run and its result -------------------------------------------------------------------------------------


def play(world: World, methods: list[Method]) -> list[MethodRun]:
    """Every round for every method, each on its own market."""
    runs = [MethodRun.start(m, world) for m in methods]
    rounds = world.config.market_rounds
    for run in runs:
        for r in range(rounds):
            with stage(f"market: {run.method.name}, round {r + 1}/{rounds}"):
                play_round(world, run, r)
    return runs


def run_market(config: Config, split: Split, seed: int) -> ExperimentResult:
    """Play the rounds for every method, solve the oracle and collect the result (see the module doc)."""
    world = World.build(split, config, seed)
    runs = play(world, market_methods(config, split.settings))
    with stage("market: oracle allocation over the best new pairs"):
        best = oracle(world)
    return market_result(world, runs, best, split)


def _share(part: float, whole: float) -> float:
    return float(part / whole) if whole else float("nan")


def _top_share(slots: np.ndarray, order: np.ndarray) -> float:
    """Share of all slots held by the first 1% of creators in ``order`` (at least one creator)."""
    top = order[: max(1, math.ceil(0.01 * len(order)))]
    return _share(float(slots[top].sum()), float(slots.sum()))


def _per_tier(world: World, gmv: np.ndarray, collaborations: np.ndarray, new: np.ndarray) -> pd.DataFrame:
    pop = world.population
    tier = world.tier[pop]
    rows = []
    for t in FanTier:
        here = pop[tier == t.code]
        rows.append(
            {
                "category": t.value,
                PRIMARY: float(gmv[here].sum()),
                "collaborations": int(collaborations[here].sum()),
                "new_collaborations": int(new[here].sum()),
                "creators": len(here),
            }
        )
    return pd.DataFrame(rows)


def _per_query(
    world: World, gmv: np.ndarray, collaborations: np.ndarray, new: np.ndarray, slots: np.ndarray | None
) -> pd.DataFrame:
    pop = world.population
    frame = pd.DataFrame(
        {
            "query": world.engine.tables.creators.ids[pop].astype(str),
            "creator_new_gmv": gmv[pop],
            "creator_collaborations": collaborations[pop],
            "creator_new_collaborations": new[pop],
        }
    )
    if slots is not None:
        frame["creator_list_slots"] = slots[pop]
    return frame


def _method_result(world: World, run: MethodRun, oracle_gmv: float) -> MethodResult:
    pop, counts = world.population, run.counts
    slots = run.creator_slots[pop]
    total, new = int(run.collaborations.sum()), int(run.new.sum())
    by_followers = np.lexsort((np.arange(len(pop)), -world.followers[pop]))
    by_slots = np.lexsort((np.arange(len(pop)), -slots))
    gmv = float(run.gmv.sum())
    values: dict[str, float] = {
        PRIMARY: gmv,
        "new_gmv_over_oracle": _share(gmv, oracle_gmv),
        "creator_new_gmv": float(run.gmv[pop].mean()),
        "collaborations": float(total),
        "new_pair_share": _share(new, total),
        "invites": float(counts["invites"]),
        "invites_accepted": float(counts["invites_accepted"]),
        "declined_capacity": float(counts["invites_declined_capacity"]),
        "declined_capacity_share": _share(counts["invites_declined_capacity"], counts["invites"]),
        "declined_samples": float(counts["invites_declined_samples"]),
        "pool_accepted": float(counts["pool_accepted"]),
        "creators_exposed": float(np.count_nonzero(slots)),
        "products_exposed": float(np.count_nonzero(run.product_slots)),
        "creator_exposure_gini": metrics.gini(slots),
        "top1pct_followers_slot_share": _top_share(slots, by_followers),
        "top1pct_exposed_slot_share": _top_share(slots, by_slots),
        "creators_with_new_work": float(np.count_nonzero(run.new[pop])),
    }
    if counts["invites_ineligible"]:
        values["invites_ineligible"] = float(counts["invites_ineligible"])
    return MethodResult(
        run.method.name,
        values,
        _per_query(world, run.gmv, run.collaborations, run.new, run.creator_slots),
        per_category=_per_tier(world, run.gmv, run.collaborations, run.new),
        exposure=slots.astype(np.float64),
    )


def _oracle_result(world: World, best: OracleAllocation) -> MethodResult:
    pop = world.population
    gmv = np.bincount(best.c, weights=best.value, minlength=world.n_c)
    collaborations = np.bincount(best.c, minlength=world.n_c).astype(np.int64)
    total = float(gmv.sum())
    values = {
        PRIMARY: total,
        "new_gmv_over_oracle": 1.0 if total > 0 else float("nan"),
        "creator_new_gmv": float(gmv[pop].mean()),
        "collaborations": float(len(best.c)),
        "new_pair_share": 1.0 if len(best.c) else float("nan"),
        "products_exposed": float(len(np.unique(best.p))),
        "creators_with_new_work": float(np.count_nonzero(collaborations[pop])),
    }
    return MethodResult(
        ORACLE,
        values,
        _per_query(world, gmv, collaborations, collaborations, None),
        per_category=_per_tier(world, gmv, collaborations, collaborations),
    )


def market_result(world: World, runs: list[MethodRun], best: OracleAllocation, split: Split) -> ExperimentResult:
    config, engine = world.config, world.engine
    oracle_gmv = float(best.value.sum())
    methods = [_method_result(world, run, oracle_gmv) for run in runs]
    methods.append(_oracle_result(world, best))
    by_name = {m.name: m.metrics for m in methods}
    admitted_products = np.logical_or.reduce([b.admitted_products for b in world.books])
    extra: dict[str, float] = {
        "oracle_graph_edges": float(best.edges),
        "creator_capacity_all_rounds": float(best.creator_capacity[world.population].sum()),
        "creator_load_round_1": float(world.load0[world.population].sum()),
        "product_samples": float(world.stock0[admitted_products].sum()),
    }
    if CAPACITY_AWARE in by_name and PER_QUERY in by_name:
        extra["capacity_aware_over_per_query"] = _share(by_name[CAPACITY_AWARE][PRIMARY], by_name[PER_QUERY][PRIMARY])
    for run in runs:
        for r, value in enumerate(run.gmv_per_round):
            extra[f"new_gmv_round_{r + 1}_{method_slug(run.method.name)}"] = value
    mismatched = [run for run in runs if run.load_mismatch]
    for run in mismatched:
        extra[f"matcher_load_mismatch_{method_slug(run.method.name)}"] = float(run.load_mismatch)
    extra.update({k: float(v) for k, v in engine.metrics.items() if isinstance(v, int | float) and "seconds" not in k})
    notes = [
        f"{config.market_rounds} rounds from {world.nows[0].date()}; each round {config.market_inviting_share:.0%} of "
        f"the admitted products with samples left invite {config.market_invites_per_product} creators each; "
        f"{config.market_browsing_share:.0%} of the creators with capacity left also consider the top "
        f"{config.market_pool_size} of their own pool; preference noise sigma {config.market_preference_noise}",
        "lists ordered by the engine's value (earnings blend 0, as in the ranking protocol); creators choose by "
        "their own noisy estimate of expected commission",
        "creator_new_gmv: mean per admitted creator (per_query rows: one per creator, for recsys compare)",
        "per category = per fan tier of the creators; exposure = times a creator was in a product's list",
        f"cutoff of features: {engine.tables.cutoff.date()}",
    ]
    for m in methods:  # the per-tier table is otherwise only in the per-category plot
        tiers = m.per_category
        assert tiers is not None
        notes.append(
            f"{m.name}, per fan tier ({' / '.join(tiers['category'])}): collaborations "
            f"{' / '.join(str(int(x)) for x in tiers['collaborations'])}; new GMV "
            f"{' / '.join(f'{x:,.0f}' for x in tiers[PRIMARY])}"
        )
    if mismatched:
        notes.append(
            "the matcher's creator load differed from the simulation's for some creators and rounds (extra metrics "
            "matcher_load_mismatch_*): its capacity view is not the market's"
        )
    protocol = (
        f"Synthetic marketplace ({config.creators} creators x {config.products} products, seed {world.seed}), "
        f"engine trained on the history before {world.nows[0].date()}. Market simulation: {config.market_rounds} "
        "weekly rounds; each method builds its lists on its own market state (earlier rounds' collaborations added "
        "as promotions, samples used taken off the stock). Sampled products with samples left invite the top "
        "creators of their list; creators with capacity left (weekly capacity by fan tier, less last week's load) "
        "consider their invitations and, for a sampled share, the top of their own pool, and accept the options "
        "they prefer (true expected commission x log-normal noise) up to their capacity while samples last; the "
        "rest are declined. Value = true expected GMV at the plan's rate of new pairs (a re-collaboration is "
        "worth 0). new_gmv = total value over all rounds. The oracle solves the allocation LP over the truly best "
        "new eligible pairs with each creator's capacity over all rounds and each product's initial samples: it "
        "relaxes the round structure and the creators' preferences, an upper bound."
    )
    return ExperimentResult(
        dataset=DATASET,
        protocol=protocol,
        methods=methods,
        primary_metric=PRIMARY,
        notes=notes,
        extra_metrics=extra,
        headline_method=CAPACITY_AWARE,
    )


__all__ = [
    "Method",
    "MethodRun",
    "OracleAllocation",
    "World",
    "current_load",
    "decide",
    "market_methods",
    "market_result",
    "oracle",
    "play",
    "play_round",
    "run_market",
]
