"""One method's run of the market: its lists, the invitations, the creators' decisions, round after round."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from models.matching.assemble import assemble_matcher
from models.matching.market import displacement_floor, period_load
from models.matching.matcher import Matcher
from models.matching.recommendation import Recommendation
from recsys.app.experiments.framework.rundir import method_slug
from recsys.app.experiments.synthetic.market.omniscient import omniscient_lists, predicted_lp_lists
from recsys.app.experiments.synthetic.market.world import (
    ACCEPTED,
    COUNTS,
    DATED_BEFORE_NOW,
    NO_CAPACITY,
    NO_SAMPLES,
    OMNISCIENT,
    ROUND_LP,
    WEEK_DAYS,
    Method,
    World,
    member,
)
from recsys.core.progress import stage
from recsys.core.rules import PlanBook
from recsys.core.schema import Marketplace

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
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))
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
        rows = rows[~member(keys, rows * n_p + p)]
        return rows[np.lexsort((rows, -world.popularity_c[rows]))][: config.market_invites_per_product]

    def products_for(c: int) -> np.ndarray:
        rows = np.flatnonzero(book.eligible_products_mask(c))
        rows = rows[~member(keys, c * n_p + rows)]
        return rows[np.lexsort((rows, -world.popularity_p[rows]))][: config.market_pool_size]

    return creators_for, products_for


class PendingFloors:
    """Per creator row, the predicted expected earnings of its pending invitations this round and its floor
    (:func:`models.matching.market.displacement_floor` over its room before them), for ``matching.full_creators =
    "displace"``."""

    def __init__(self, free: np.ndarray) -> None:
        self.free = np.asarray(free)
        self.offers: dict[int, list[float]] = {}
        self.floor = np.where(self.free > 0, -np.inf, np.inf)

    def add(self, recs: list[Recommendation]) -> None:
        """The invitations of ``recs`` are pending: their creators' floors rise to their new weakest kept offer."""
        for rec in recs:
            earnings = self.offers.setdefault(rec.creator_row, [])
            earnings.append(rec.expected_commission)
            self.floor[rec.creator_row] = displacement_floor(np.array(earnings), int(self.free[rec.creator_row]))


def _matcher_lists(world: World, matcher: Matcher) -> tuple[Lister, Lister]:
    """The matcher's lists. Each product's invitations are pending until the creators decide at the end of the
    round, so the next product's list sees them (``matching.pending_invites``), as the service sees the pending
    invitations in its store; under ``matching.full_creators = "displace"`` with their floors too."""
    tables, config = world.engine.tables, world.config
    current, pending = [matcher], np.zeros(world.n_c)
    floors = (
        PendingFloors(matcher.market.state.creator_free)
        if matcher.settings.matching.full_creators == "displace"
        else None
    )

    def creators_for(p: int) -> np.ndarray:
        recs = current[0].recommend_creators(tables.products.id(p), k=config.market_invites_per_product)
        rows = np.array([x.creator_row for x in recs], np.int64)
        if matcher.settings.matching.pending_invites > 0 and len(rows):
            np.add.at(pending, rows, 1.0)
            if floors is not None:
                floors.add(recs)
            current[0] = matcher.with_pending(pending.copy(), None if floors is None else floors.floor.copy())
        return rows

    def products_for(c: int) -> np.ndarray:
        recs = current[0].recommend_products(tables.creators.id(c), k=config.market_pool_size)
        return np.array([x.product_row for x in recs], np.int64)

    return creators_for, products_for


def _listed(lists: dict[int, np.ndarray]) -> Lister:
    """A lister from lists chosen for the whole round at once (an LP's): nothing for a row it left out."""
    return lambda row: lists.get(row, np.empty(0, np.int64))


def play_round(world: World, run: MethodRun, r: int) -> None:
    """Round ``r`` of one method: lists on its current market, invitations, the creators' decisions."""
    config, tables, book, now = world.config, world.engine.tables, world.books[r], world.nows[r]
    promotions = run.promotions(world)
    load = period_load(promotions, tables.creators, tables.products, now, WEEK_DAYS)
    left = np.maximum(world.capacity - load, 0)
    products = world.order(r, world.n_p, 0)
    products = products[book.admitted_products[products] & (run.stock[products] > 0)]
    products = products[: math.ceil(config.market_inviting_share * len(products))]
    creators = world.order(r, world.n_c, 1)
    creators = creators[book.admitted_creators[creators] & (left[creators] > 0)]
    creators = creators[: math.ceil(config.market_browsing_share * len(creators))]
    if run.method.name == OMNISCIENT:
        lists, pools_of = omniscient_lists(world, r, run.keys, products, creators, left, run.stock)
        creators_for, products_for = _listed(lists), _listed(pools_of)
    elif run.method.matching is None:
        creators_for, products_for = _popularity_lists(world, book, run.keys)
    else:
        settings = world.settings.model_copy(update={"matching": run.method.matching})
        matcher = assemble_matcher(world.engine, run.market(world, promotions), settings, now.to_pydatetime())
        seen = matcher.market.state.creator_load  # the load its capacity view rests on: must be the market's
        run.load_mismatch += int(np.count_nonzero(seen[world.population] != load[world.population]))
        if run.method.name == ROUND_LP:
            lists, pools_of = predicted_lp_lists(world, matcher, products, creators, left, run.stock)
            creators_for, products_for = _listed(lists), _listed(pools_of)
        else:
            creators_for, products_for = _matcher_lists(world, matcher)

    invited = [creators_for(int(p)) for p in products]
    inv_c = np.concatenate([np.empty(0, np.int64), *invited])
    inv_p = np.repeat(products, [len(x) for x in invited]).astype(np.int64)
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
    status = np.full(len(c), ACCEPTED, np.int8)
    room = left.copy()
    stock = run.stock
    for i in np.lexsort((p, -preference, rank[c])).tolist():
        ci, pi = int(c[i]), int(p[i])
        if room[ci] <= 0:
            status[i] = NO_CAPACITY
        elif stock[pi] <= 0:
            status[i] = NO_SAMPLES
        else:
            room[ci] -= 1
            stock[pi] -= 1
    accepted = status == ACCEPTED
    run.counts["invites_accepted"] += int((accepted & invited).sum())
    run.counts["invites_declined_capacity"] += int(((status == NO_CAPACITY) & invited).sum())
    run.counts["invites_declined_samples"] += int(((status == NO_SAMPLES) & invited).sum())
    run.counts["pool_accepted"] += int((accepted & ~invited).sum())
    c, p, key, gmv, plan_row = c[accepted], p[accepted], key[accepted], gmv[accepted], plan_row[accepted]
    new = ~member(run.keys, key)
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


def play(world: World, methods: list[Method]) -> list[MethodRun]:
    """Every round for every method, each on its own market."""
    runs = [MethodRun.start(m, world) for m in methods]
    rounds = world.config.market_rounds
    for run in runs:
        for r in range(rounds):
            with stage(f"market: {run.method.name}, round {r + 1}/{rounds}"):
                play_round(world, run, r)
    return runs
