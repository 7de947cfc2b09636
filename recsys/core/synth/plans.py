"""Promotion plans of the synthetic marketplace: open, tiered, targeted and exclusive, with requirements and windows."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from recsys.core.synth.entities import Creators, Products
from recsys.core.synth.world import CATEGORY_NAMES, REGIONS

PLAN_CODES = {"open": 0, "exclusive": 1, "targeted": 2, "tiered": 3}


@dataclass
class Plans:
    """Plans as arrays (row = plan) plus what promotions need to pick a plan quickly."""

    product_row: np.ndarray
    plan_type: np.ndarray  # PLAN_CODES
    rate: np.ndarray  # base commission rate
    tiers: list[list[list[float]]]
    tier_basis: np.ndarray  # object: units | gmv
    creator_rows: list[np.ndarray]  # listed creators (exclusive / targeted)
    min_followers: np.ndarray
    allowed_category: np.ndarray  # category code or -1 (any)
    allowed_regions: np.ndarray  # bitmask over REGIONS, 0 = any
    starts_at: np.ndarray  # datetime64
    ends_at: np.ndarray  # datetime64 or NaT
    budget: np.ndarray  # nan = unlimited

    def __len__(self) -> int:
        return len(self.product_row)


def _tiers(rng: np.random.Generator, rate: float, median_price: float) -> tuple[list[list[float]], str]:
    first = float(rng.choice([20, 50, 100]))
    steps = rng.uniform(0.01, 0.04, 2)
    basis = "units" if rng.random() < 0.8 else "gmv"
    scale = 1.0 if basis == "units" else round(median_price, 0)
    rates = [rate, min(0.5, rate + steps[0]), min(0.5, rate + steps[0] + steps[1])]
    return [
        [0.0, round(rates[0], 3)],
        [first * scale, round(rates[1], 3)],
        [first * 4 * scale, round(rates[2], 3)],
    ], basis


def make_plans(rng: np.random.Generator, products: Products, creators: Creators, as_of: pd.Timestamp) -> Plans:
    n_p = len(products.frame)
    has_open = rng.random(n_p) < 0.85
    has_tiered = rng.random(n_p) < 0.15
    neither = ~has_open & ~has_tiered
    has_open |= neither & (rng.random(n_p) < 0.5)
    has_targeted = rng.random(n_p) < 0.08
    has_exclusive = rng.random(n_p) < 0.03

    kinds = [
        (np.flatnonzero(has_open), "open"),
        (np.flatnonzero(has_tiered), "tiered"),
        (np.flatnonzero(has_targeted), "targeted"),
        (np.flatnonzero(has_exclusive), "exclusive"),
    ]
    product_row = np.concatenate([rows for rows, _ in kinds])
    plan_type = np.concatenate([np.full(len(rows), PLAN_CODES[k]) for rows, k in kinds])
    order = np.lexsort((plan_type, product_row))  # plans grouped by product, stable per seed
    product_row, plan_type = product_row[order], plan_type[order]
    n = len(product_row)
    base = products.base_rate[product_row]
    bonus = np.select(
        [plan_type == PLAN_CODES["targeted"], plan_type == PLAN_CODES["exclusive"]],
        [rng.uniform(0.02, 0.08, n), rng.uniform(0.05, 0.12, n)],
        0.0,
    )
    rate = np.round(np.minimum(0.5, base + bonus), 3)

    # Listed creators: prefer creators whose main category matches the product's.
    main = np.array([c[0] for c in creators.categories])
    by_category = {k: np.flatnonzero(main == k) for k in np.unique(main)}
    all_rows = np.arange(len(main))
    creator_rows: list[np.ndarray] = []
    tiers: list[list[list[float]]] = []
    tier_basis = np.full(n, "units", dtype=object)
    median_price = float(np.median(products.price))
    for j in range(n):
        code = plan_type[j]
        if code in (PLAN_CODES["targeted"], PLAN_CODES["exclusive"]):
            size = int(rng.integers(5, 26)) if code == PLAN_CODES["targeted"] else int(rng.integers(1, 4))
            pool = by_category.get(products.category[product_row[j]], all_rows)
            pool = pool if len(pool) >= size else all_rows
            creator_rows.append(np.sort(rng.choice(pool, size=size, replace=False)))
        else:
            creator_rows.append(np.empty(0, dtype=np.int64))
        if code == PLAN_CODES["tiered"]:
            t, basis = _tiers(rng, float(rate[j]), median_price)
            tiers.append(t)
            tier_basis[j] = basis
        else:
            tiers.append([])

    public = (plan_type == PLAN_CODES["open"]) | (plan_type == PLAN_CODES["tiered"])
    min_followers = np.where(public & (rng.random(n) < 0.12), rng.choice([1000, 5000, 10000, 50000], n), 0)
    allowed_category = np.where(public & (rng.random(n) < 0.06), products.category[product_row], -1)
    region_mask = np.zeros(n, dtype=np.int64)
    restricted = np.flatnonzero(public & (rng.random(n) < 0.04))
    for plan_row in restricted:
        for region in rng.choice(len(REGIONS), size=int(rng.integers(2, 4)), replace=False):
            region_mask[plan_row] = int(region_mask[plan_row]) | (1 << int(region))

    listed = products.frame["listed_at"].to_numpy()[product_row]
    starts_at = listed
    end_draw = rng.random(n)
    ended_at = as_of - pd.to_timedelta(rng.uniform(1, 60, n), unit="D")
    future_end = as_of + pd.to_timedelta(rng.uniform(10, 90, n), unit="D")
    ends_at = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    ended_ok = (end_draw < 0.08) & (ended_at.to_numpy() > starts_at + np.timedelta64(7, "D"))
    ends_at[ended_ok] = ended_at.to_numpy()[ended_ok]
    future = (end_draw >= 0.08) & (end_draw < 0.18)
    ends_at[future] = future_end.to_numpy()[future]
    budget = np.where(rng.random(n) < 0.10, 0.0, np.nan)  # sized after promotions exist (see finalize_budgets)
    return Plans(
        product_row=product_row,
        plan_type=plan_type,
        rate=rate,
        tiers=tiers,
        tier_basis=tier_basis,
        creator_rows=creator_rows,
        min_followers=min_followers.astype(np.int64),
        allowed_category=allowed_category,
        allowed_regions=region_mask,
        starts_at=starts_at,
        ends_at=ends_at,
        budget=budget,
    )


def finalize_budgets(rng: np.random.Generator, plans: Plans, spent: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Budgets sized from what each budgeted plan has spent: about a third end up exhausted."""
    has_budget = ~np.isnan(plans.budget)
    budget = np.where(
        has_budget,
        np.where(
            spent > 0, np.round(spent * rng.uniform(0.8, 3.0, len(spent)), 2), np.round(rng.uniform(2000, 20000), 2)
        ),
        np.nan,
    )
    budget_spent = np.round(np.where(has_budget, np.minimum(spent, budget), spent), 2)
    return budget, budget_spent


def plans_frame(
    plans: Plans, products: Products, creators: Creators, budget: np.ndarray, spent: np.ndarray
) -> pd.DataFrame:
    """The ``plans`` table."""
    names = {v: k for k, v in PLAN_CODES.items()}
    creator_ids = creators.frame["creator_id"].to_numpy()
    width = max(5, len(str(len(plans))))
    return pd.DataFrame(
        {
            "plan_id": [f"pl{i:0{width}d}" for i in range(len(plans))],
            "product_id": products.frame["product_id"].to_numpy()[plans.product_row],
            "plan_type": [names[int(c)] for c in plans.plan_type],
            "commission_rate": plans.rate,
            "creator_ids": [creator_ids[rows].tolist() for rows in plans.creator_rows],
            "tiers": plans.tiers,
            "tier_basis": plans.tier_basis,
            "min_followers": plans.min_followers,
            "allowed_categories": [[CATEGORY_NAMES[c]] if c >= 0 else [] for c in plans.allowed_category],
            "allowed_regions": [[REGIONS[r] for r in range(len(REGIONS)) if m >> r & 1] for m in plans.allowed_regions],
            "starts_at": pd.DatetimeIndex(plans.starts_at),
            "ends_at": pd.DatetimeIndex(plans.ends_at),
            "budget": budget,
            "budget_spent": spent,
        }
    )
