"""The market around a request: who already works with whom, who has room, and what congestion costs.

:class:`MarketState` is read from the marketplace's current tables (the store) whenever a matcher is assembled —
at load and on every refresh:

- existing collaborations: (creator, product) pairs with any promotion — the bundle's pair history plus the
  market's promotions (serving reads those since the bundle's cutoff); lists leave them out unless asked;
- each creator's capacity for collaborations in a period (``weekly_capacity`` column, else a default by fan tier,
  ``matching.capacity_*``) and its current load: the distinct products it started promoting in the last
  ``matching.capacity_days``; the invitations it has not answered yet hold room too (``matching.pending_invites``
  each), so lists stop sending the same creators more invitations than they can accept; where the expected
  earnings of those invitations are known (the market simulation), each creator's *floor*: the earnings of the
  weakest pending invitation it would still accept (:func:`displacement_floor`, ``matching.full_creators =
  "displace"``);
- each product's samples left (``sample_stock`` column; empty = unlimited) and what one sample costs the merchant
  (``sample_cost`` column; empty = the default of ``rules.sample_cost_share`` and ``rules.sample_shipping``);
- which creators are new or small (no sales history, or nano / micro), for the new-creator boost.

:class:`CapacityPrices` solves the global allocation (:mod:`models.matching.allocation`) over the retrieved
candidate graph — each admitted creator's best products and each admitted product's best creators, valued by the
GMV model — and keeps the dual prices of creator and product capacity, for a period in which only the share
``matching.allocation_activity`` of products recruits (creator capacities divided by it, see
:mod:`models.matching.allocation`). :func:`list_exposure` counts how many
products' candidate lists (retrieval's top ``matching.exposure_depth``) each creator enters: its exposure this
period. The reranker (:mod:`models.matching.rerank`) applies both.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from features.tables import FeatureTables
from models.engine import Engine
from models.matching.allocation import allocate
from models.retrieval.retriever import Retriever
from recsys.core.atomic import keep_newest, save_npy
from recsys.core.config import MatchingSettings
from recsys.core.pair_keys import PairKeys
from recsys.core.rules import PlanBook
from recsys.core.schema import Marketplace
from recsys.core.vocab import Direction, FanTier, Vocabulary, find_sorted, sorted_unique, union_sorted

log = logging.getLogger(__name__)
_CHUNK = 200_000  # pairs per feature / prediction batch when valuing the graph
UNLIMITED = np.iinfo(np.int32).max  # a creator capacity that is not known (no market): never binding


def period_load(
    promotions: pd.DataFrame, creators: Vocabulary, products: Vocabulary, now: datetime, days: int
) -> np.ndarray:
    """Per creator row, its load this period: the distinct products it promoted in ``[now − days, now)``."""
    started = pd.to_datetime(promotions["started_at"]).to_numpy()
    end = np.datetime64(pd.Timestamp(now))
    recent = (started >= end - np.timedelta64(days, "D")) & (started < end)
    c = creators.rows(promotions.loc[recent, "creator_id"])
    p = products.rows(promotions.loc[recent, "product_id"])
    known = (c >= 0) & (p >= 0)
    pairs = sorted_unique(c[known] * len(products) + p[known])
    return np.bincount(pairs // len(products), minlength=len(creators)).astype(np.int64)


def list_exposure(
    retriever: Retriever, products: np.ndarray, depth: int, sample: int | None = None, cache: Path | None = None
) -> np.ndarray:
    """Per creator row, how many of ``products`` rank it in their top ``depth`` by retrieval: the product lists it
    would be shown in this period (what the exposure decay damps).

    With more than ``sample`` products, the counts are estimated from a seeded uniform sample of ``sample`` of them,
    scaled by ``len(products) / sample`` (an unbiased estimate of each count; the decay only reads counts relative to
    their mean). Counting every list is an exact search of every product over every creator: at 1M products x 100k
    creators that took more than 12 minutes at each worker's start. The sample is the same on every worker (seed 0
    over the same products), so workers agree.

    ``cache``: a folder where the counts are kept under a hash of everything they depend on (the creator vectors,
    the sampled products' rows and vectors, the depth and the index's kind), so the other workers and later starts of
    the same bundle and catalogue read them instead of searching again."""
    products = np.asarray(products, dtype=np.int64)
    scale = 1.0
    if sample is not None and len(products) > sample:
        scale = len(products) / sample
        products = np.sort(np.random.default_rng(0).choice(products, size=sample, replace=False))
    path = None
    if cache is not None:
        digest = hashlib.blake2b(digest_size=16)
        index = retriever.index_for(Direction.PRODUCT)
        # the retriever's fingerprint stands for its vectors: gathering 10k rows of 1M mapped product vectors
        # brought the whole file into the process (the kernel maps the pages around each fault), 330 MiB of RSS
        if retriever.fingerprint is not None:
            digest.update(retriever.fingerprint.encode())
            parts = [products]
        else:
            parts = [retriever.creator_vectors, products, retriever.product_vectors[products]]
        for part in parts:
            digest.update(np.ascontiguousarray(part).view(np.uint8).data)
        digest.update(f"{depth}|{scale!r}|{type(index).__name__}|{getattr(index, 'nprobe', '')}".encode())
        path = cache / f"exposure-{digest.hexdigest()}.npy"
        with contextlib.suppress(OSError, ValueError):
            return np.load(path, allow_pickle=False)
    listed = _top_pairs(retriever, Direction.PRODUCT, products, depth)[1]
    counts = np.bincount(listed, minlength=len(retriever.creator_vectors)) * scale
    if path is not None:
        with contextlib.suppress(OSError):
            save_npy(path, counts)
            keep_newest(path.parent, "exposure-*.npy", 4)
    return counts


def _read_only(values: np.ndarray) -> np.ndarray:
    out = np.asarray(values)
    out.flags.writeable = False
    return out


@dataclass(frozen=True)
class MarketState:
    """Per creator row and product row of a bundle: existing pairs, capacity, load, stock."""

    existing_keys: np.ndarray  # sorted unique int64 keys creator_row * n_products + product_row (see history)
    n_products: int
    creator_capacity: np.ndarray  # int64: new collaborations a period
    creator_load: np.ndarray  # int64: new collaborations started in the current period
    product_stock: np.ndarray  # float64 samples left (inf = unlimited)
    new_creator: np.ndarray  # bool: no sales history yet, or a nano / micro creator
    product_sample_cost: np.ndarray | None = None  # float64 yuan per sample the product states (NaN: not stated)
    creator_pending: np.ndarray | None = None  # float64: invitations not answered yet x matching.pending_invites
    creator_floor: np.ndarray | None = None  # float64: displacement_floor per creator row (None: not known)
    history: PairKeys | None = None  # the bundle's earlier pairs (existing too); existing_keys then holds the rest

    @classmethod
    def empty(cls, n_creators: int, n_products: int) -> MarketState:
        """No collaborations, unlimited capacity: the matcher without a market (offline diagnostics)."""
        return cls(
            np.empty(0, np.int64),
            n_products,
            np.full(n_creators, UNLIMITED, np.int64),
            np.zeros(n_creators, np.int64),
            np.full(n_products, np.inf),
            np.zeros(n_creators, bool),
            np.full(n_products, np.nan),
        )

    @classmethod
    def build(
        cls, market: Marketplace, tables: FeatureTables, settings: MatchingSettings, now: datetime
    ) -> MarketState:
        n_p = len(tables.products)
        promotions = market.promotions
        c = tables.creators.rows(promotions["creator_id"])
        p = tables.products.rows(promotions["product_id"])
        known = (c >= 0) & (p >= 0)
        keys = sorted_unique(c[known] * n_p + p[known])  # the bundle's pairs are looked up in its own keys
        load = period_load(promotions, tables.creators, tables.products, now, settings.capacity_days)
        creators = market.creators.set_index("creator_id").reindex(tables.creators.ids)
        tier_default = np.array([settings.capacity_by_tier()[t] for t in FanTier], np.int64)
        followers = creators["followers"].fillna(0).to_numpy(np.float64)
        capacity = tier_default[FanTier.codes(followers)]
        if "weekly_capacity" in creators:
            given = pd.to_numeric(creators["weekly_capacity"], errors="coerce").to_numpy(np.float64)
            capacity = np.where(np.isfinite(given), np.maximum(given, 0), capacity).astype(np.int64)
        products = market.products.set_index("product_id").reindex(tables.products.ids)
        stock = np.full(n_p, np.inf)
        if "sample_stock" in products:
            given = pd.to_numeric(products["sample_stock"], errors="coerce").to_numpy(np.float64)
            stock = np.where(np.isfinite(given), np.maximum(given, 0), np.inf)
        sample_cost = np.full(n_p, np.nan)
        if "sample_cost" in products:
            given = pd.to_numeric(products["sample_cost"], errors="coerce").to_numpy(np.float64)
            sample_cost = np.where(given >= 0, given, np.nan)
        history = tables.creator[:, tables.creator_names.index("c_has_history")] > 0
        small = FanTier.codes(followers) <= FanTier.MICRO.code
        return cls(keys, n_p, capacity, load, stock, ~history | small, sample_cost, history=tables.pair_lookup)

    def with_promotions(self, promotions: pd.DataFrame, tables: FeatureTables, now: datetime, days: int) -> MarketState:
        """The state after ``promotions`` arrived (events since it was built): their pairs become existing and
        their creators' loads grow by the distinct products they started this period (a product a creator had
        already promoted earlier this period is counted again: the load errs on the full side)."""
        c = tables.creators.rows(promotions["creator_id"])
        p = tables.products.rows(promotions["product_id"])
        known = (c >= 0) & (p >= 0)
        keys = union_sorted(self.existing_keys, c[known] * self.n_products + p[known])
        load = self.creator_load + period_load(promotions, tables.creators, tables.products, now, days)
        return replace(self, existing_keys=keys, creator_load=load)

    def with_pending(self, pending: np.ndarray, floor: np.ndarray | None = None) -> MarketState:
        """The state with ``pending`` (per creator row) as the room its unanswered invitations hold: a creator with
        as many invitations out as capacity left is full for the next list, until they are answered. ``floor``
        (per creator row, :func:`displacement_floor`): what a new offer must beat to displace one of them."""
        floor = None if floor is None else np.asarray(floor, dtype=np.float64)
        return replace(self, creator_pending=np.asarray(pending, dtype=np.float64), creator_floor=floor)

    # Computed once per state (the state is immutable: changes make a new one with ``replace``) and read-only: a
    # list reads them at its ~1,000 candidates up to four times, and each was a pass over every creator (0.45 ms
    # at 100k creators).
    @cached_property
    def capacity_known(self) -> np.ndarray:
        """True for creators whose capacity is known (a market was given)."""
        return _read_only(self.creator_capacity < UNLIMITED)

    @cached_property
    def creator_free(self) -> np.ndarray:
        """New collaborations each creator can still take this period (≥ 0), its pending invitations not counted."""
        return _read_only(np.maximum(self.creator_capacity - self.creator_load, 0))

    @cached_property
    def creator_left(self) -> np.ndarray:
        """New collaborations each creator can still take this period (≥ 0), less the room its unanswered
        invitations hold."""
        left = self.creator_free
        return left if self.creator_pending is None else _read_only(np.maximum(left - self.creator_pending, 0.0))

    def existing(self, c: np.ndarray, p: np.ndarray) -> np.ndarray:
        """True for pairs that already collaborated: in the bundle's earlier pairs (:attr:`history`) or in
        :attr:`existing_keys` (promotions and accepted invitations since)."""
        found = np.zeros(len(c), bool)
        if self.history is not None and len(self.history):
            found |= self.history.find(c, p)[1]
        if len(self.existing_keys):
            wanted = np.asarray(c, dtype=np.int64) * self.n_products + np.asarray(p, dtype=np.int64)
            found |= find_sorted(self.existing_keys, wanted)[1]
        return found


def displacement_floor(earnings: np.ndarray, room: int) -> float:
    """The expected earnings a new offer must beat to displace one of a creator's pending offers (``earnings``):
    the ``room``-th best of them — the weakest the creator would still accept, as it takes its best offers first;
    −inf while they do not fill its ``room`` (a new offer displaces nothing), +inf with no room at all."""
    if room <= 0:
        return float(np.inf)
    if len(earnings) < room:
        return float(-np.inf)
    return float(np.partition(np.asarray(earnings, dtype=np.float64), len(earnings) - room)[len(earnings) - room])


@dataclass(frozen=True)
class CapacityPrices:
    """Per creator row / product row: the capacity price (value units: yuan of predicted GMV)."""

    creator: np.ndarray
    product: np.ndarray
    graph_edges: int = 0
    allocated: int = 0

    @classmethod
    def zero(cls, n_creators: int, n_products: int) -> CapacityPrices:
        return cls(np.zeros(n_creators), np.zeros(n_products))

    @classmethod
    def solve(
        cls, engine: Engine, book: PlanBook | None, state: MarketState, settings: MatchingSettings
    ) -> CapacityPrices:
        """Build the candidate graph, value it with the GMV model and solve the allocation (see module doc)."""
        tables, retriever = engine.tables, engine.retriever
        n_c, n_p = len(tables.creators), len(tables.products)
        creators = np.flatnonzero(book.admitted_creators) if book is not None else np.arange(n_c)
        products = np.flatnonzero(book.admitted_products) if book is not None else np.arange(n_p)
        per_c, per_p = settings.allocation_products_per_creator, settings.allocation_creators_per_product
        wanted = len(creators) * per_c + len(products) * per_p
        if wanted > settings.allocation_max_edges:  # shrink both sides alike to fit the edge budget
            shrink = settings.allocation_max_edges / wanted
            per_c, per_p = max(1, int(per_c * shrink)), max(1, int(per_p * shrink))
        log.info(f"allocation graph: {len(creators)} creators x {per_c} products, {len(products)} products x {per_p}")
        c1, p1 = _top_pairs(retriever, Direction.CREATOR, creators, per_c)
        p2, c2 = _top_pairs(retriever, Direction.PRODUCT, products, per_p)
        keys = sorted_unique(np.concatenate([c1 * n_p + p1, c2 * n_p + p2]))
        c, p = keys // n_p, keys % n_p
        fresh = ~state.existing(c, p)
        c, p = c[fresh], p[fresh]
        value = np.zeros(len(c))
        for lo in range(0, len(c), _CHUNK):
            cc, pp = c[lo : lo + _CHUNK], p[lo : lo + _CHUNK]
            if book is not None:
                res = book.resolve_pairs(cc, pp, None, tables.pair_orders(cc, pp))
                rate, ok = res.rate, res.eligible
            else:
                rate, ok = None, np.ones(len(cc), bool)
            fmt = tables.arrays["creator_main_format"][cc].astype(np.int64)
            X = tables.vectors(cc, pp, rate, fmt)
            value[lo : lo + _CHUNK] = np.where(ok, np.maximum(engine.gmv.predict(X), 0.0), 0.0)
        activity = settings.allocation_activity
        allocation = allocate(c, p, value, state.creator_left, state.product_stock, activity)
        log.info(f"allocation: {int(allocation.take.sum())} pairs of {len(c)} edges, value {allocation.value:,.0f}")
        return cls(allocation.creator_price, allocation.product_price, len(c), int(allocation.take.sum()))


def _top_pairs(retriever: Retriever, direction: Direction, rows: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(query rows, candidate rows) of each query row's top-``n`` retrieved candidates, batched."""
    if len(rows) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    base = direction.select(retriever.creator_vectors, retriever.product_vectors)
    index = retriever.index_for(direction)
    out_q, out_c = [], []
    for lo in range(0, len(rows), 4096):
        q = rows[lo : lo + 4096]
        _, found = index.search(np.asarray(base[q], dtype=np.float32), n)
        keep = found >= 0
        out_q.append(np.repeat(q, keep.sum(axis=1)))
        out_c.append(found[keep].astype(np.int64))
    return np.concatenate(out_q), np.concatenate(out_c)
