"""The oracle of the market protocol: the allocation LP over the truly best new eligible pairs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.matching.allocation import allocate
from recsys.app.experiments.synthetic.market.world import (
    World,
    member,
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
            rows = rows[~member(world.past_keys, c * n_p + rows)]
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
