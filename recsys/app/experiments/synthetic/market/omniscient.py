"""Omniscient lists: the best lists any list-maker could give in the market's rounds (a diagnostic method).

The allocation oracle (:mod:`.oracle`) is an upper bound that relaxes the market itself: any creator may work with
any product, whether or not that product invites anyone that week or that creator opens its pool. In the rounds,
a creator only ever sees the invitations of the products that invite that week and, if it browses, the top of its
own pool. *Omniscient lists* keep those frictions and know the truth: each round they solve

    maximise   Σ_e gmv_e · x_e                                   (true expected GMV of new eligible pairs)
    subject to Σ_{invites of product p} x_e ≤ invites per product   (each inviting product's list)
               Σ_{pool of creator c}   x_e ≤ pool size             (each browsing creator's pool)
               Σ_{e ∋ creator c}       x_e ≤ capacity left of c
               Σ_{e ∋ product p}       x_e ≤ samples left of p,     0 ≤ x_e ≤ 1

over each inviting product's best ``CANDIDATES`` creators and each browsing creator's best ``CANDIDATES`` products
(HiGHS through :func:`scipy.optimize.linprog`), and list exactly the pairs taken. A creator then never has more
options than room, so it accepts them all: what they reach is what perfect lists achieve in this market, round by
round (greedy over rounds, like every method). The ratio of a method's GMV to theirs says how much of the
achievable value its lists capture; their ratio to the oracle says how much the market's frictions cost.

*Round LP on predicted GMV* (:func:`predicted_lp_lists`, also a diagnostic) solves the same LP on what the pipeline
knows — its own candidates and their predicted GMV — so the part of the gap to omniscient lists that is the
predictions' (same LP, other values) separates from the part that is the lists' mechanism (the capacity-aware
pipeline lets creators choose among more invitations than room, on what they know).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

from models.matching.matcher import Matcher
from recsys.app.experiments.synthetic.market.world import World, member

CANDIDATES = 50  # partners per inviting product and browsing creator (omniscient: best by true GMV; round LP: lists)


def _best_pairs(world: World, r: int, keys: np.ndarray, c: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, ...]:
    """Of candidate pairs (c, p): the new, eligible ones with their true GMV at the round's rate, best first."""
    new = ~member(keys, c * world.n_p + p)
    c, p = c[new], p[new]
    res = world.books[r].resolve_pairs(c, p)
    c, p, rate = c[res.eligible], p[res.eligible], res.rate[res.eligible]
    value = world.true_gmv(c, p, rate)
    top = np.argsort(-value, kind="stable")[:CANDIDATES]
    return c[top], p[top], value[top]


def omniscient_lists(
    world: World,
    r: int,
    keys: np.ndarray,
    inviting: np.ndarray,
    browsing: np.ndarray,
    left: np.ndarray,
    stock: np.ndarray,
) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
    """(creators each inviting product invites, products in each browsing creator's pool) for round ``r``."""
    parts: list[tuple[np.ndarray, ...]] = []
    for p in inviting.tolist():
        creators = np.flatnonzero(world.books[r].eligible_creators_mask(p) & (left > 0))
        parts.append((*_best_pairs(world, r, keys, creators, np.full(len(creators), p)), np.ones(1, bool)))
    for c in browsing.tolist():
        products = np.flatnonzero(world.books[r].eligible_products_mask(c) & (stock > 0))
        parts.append((*_best_pairs(world, r, keys, np.full(len(products), c), products), np.zeros(1, bool)))
    return _lp_lists(world, parts, inviting, browsing, left, stock)


def predicted_lp_lists(
    world: World,
    matcher: Matcher,
    inviting: np.ndarray,
    browsing: np.ndarray,
    left: np.ndarray,
    stock: np.ndarray,
) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
    """The same LP as :func:`omniscient_lists` on what the pipeline knows: each inviting product's first
    ``CANDIDATES`` creators of ``matcher``'s list and each browsing creator's first ``CANDIDATES`` products of its
    pool, valued at their *predicted* GMV. The lists never hold more options than room, so creators no longer choose
    among them: it measures what an allocation on today's predictions would do in place of the creators' choice."""
    tables = world.engine.tables
    parts: list[tuple[np.ndarray, ...]] = []
    for p in inviting.tolist():
        recs = matcher.recommend_creators(tables.products.id(p), k=CANDIDATES)
        c = np.array([x.creator_row for x in recs], np.int64)
        value = np.array([x.predicted_gmv for x in recs], np.float64)
        parts.append((c, np.full(len(c), p, np.int64), value, np.ones(1, bool)))
    for c in browsing.tolist():
        recs = matcher.recommend_products(tables.creators.id(c), k=CANDIDATES)
        products = np.array([x.product_row for x in recs], np.int64)
        value = np.array([x.predicted_gmv for x in recs], np.float64)
        parts.append((np.full(len(products), c, np.int64), products, value, np.zeros(1, bool)))
    return _lp_lists(world, parts, inviting, browsing, left, stock)


def _lp_lists(
    world: World,
    parts: list[tuple[np.ndarray, ...]],
    inviting: np.ndarray,
    browsing: np.ndarray,
    left: np.ndarray,
    stock: np.ndarray,
) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
    """The lists the LP (:func:`_solve`) takes from candidate ``parts`` — (creator rows, product rows, values,
    [invitation?]) per inviting product and browsing creator."""
    if not parts or not sum(len(x[0]) for x in parts):
        return {}, {}
    ec = np.concatenate([x[0] for x in parts])
    ep = np.concatenate([x[1] for x in parts])
    ev = np.concatenate([x[2] for x in parts])
    invite = np.concatenate([np.full(len(x[0]), bool(x[3][0])) for x in parts])
    config = world.config
    take = _solve(ec, ep, ev, invite, left, stock, config.market_invites_per_product, config.market_pool_size)
    creators_for = {int(p): ec[take & invite & (ep == p)] for p in inviting.tolist()}
    products_for = {int(c): ep[take & ~invite & (ec == c)] for c in browsing.tolist()}
    return creators_for, products_for


def _solve(
    c: np.ndarray,
    p: np.ndarray,
    value: np.ndarray,
    invite: np.ndarray,
    left: np.ndarray,
    stock: np.ndarray,
    per_list: int,
    per_pool: int,
) -> np.ndarray:
    """The LP of the module doc; bool per edge (taken). An edge both an invitation and a pool pick appears twice:
    the creator's and the product's capacity rows count both, so at most one can be useful."""
    n_e = len(value)
    useful = value > 0
    if not useful.any():
        return np.zeros(n_e, bool)
    rows, caps = [], []

    def group(keys: np.ndarray, mask: np.ndarray, cap: np.ndarray) -> None:
        on = np.flatnonzero(mask)
        uniq, local = np.unique(keys[on], return_inverse=True)
        rows.append(sp.csr_matrix((np.ones(len(on)), (local, on)), shape=(len(uniq), n_e)))
        caps.append(cap[uniq].astype(np.float64))

    group(p, invite, np.full(int(p.max()) + 1, float(per_list)))
    group(c, ~invite, np.full(int(c.max()) + 1, float(per_pool)))
    group(c, np.ones(n_e, bool), left.astype(np.float64))
    group(p, np.ones(n_e, bool), np.minimum(stock, n_e).astype(np.float64))
    scale = float(value.max())
    result = linprog(
        -np.where(useful, value, 0.0) / scale,
        A_ub=sp.vstack(rows, format="csr"),
        b_ub=np.concatenate(caps),
        bounds=(0.0, 1.0),
        method="highs",
    )
    if result.status != 0:
        raise RuntimeError(f"omniscient lists LP: {result.message}")
    return np.asarray(result.x > 0.5) & useful
