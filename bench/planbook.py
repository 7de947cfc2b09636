"""Benchmark of the PlanBook at marketplace scale (not a test: prints figures, never fails on timing).

    python -m bench.planbook                      # 1M plans, 1M products, 100k creators
    python -m bench.planbook --plans 100000 --products 100000 --creators 10000   # a quick look

Builds a synthetic marketplace (seeded) with the shape the matcher sees: ~1 plan per product, 15 % listed
plans naming 1–5 creators, 20 % tiered plans with 3 tiers, 30 % with category and 20 % with region limits.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
import psutil
from rich.console import Console
from rich.table import Table

from recsys.core.config import RulesSettings
from recsys.core.progress import stage
from recsys.core.rules import PlanBook

NOW = pd.Timestamp("2024-06-01")
CATEGORIES = np.array(["beauty", "food", "tech", "home", "sport", "baby", "pets", "books", "auto", "games"])
REGIONS = np.array([f"r{i:02d}" for i in range(31)])


def synthetic(n_plans: int, n_products: int, n_creators: int, seed: int) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    n_merchants = max(1, n_products // 20)
    merchants = pd.DataFrame(
        {
            "merchant_id": [f"m{i}" for i in range(n_merchants)],
            "joined_at": NOW - pd.to_timedelta(rng.integers(1, 1000, n_merchants), unit="D"),
            "experience_score": rng.uniform(55, 100, n_merchants),
            "good_review_rate": rng.uniform(0.75, 1.0, n_merchants),
            "violations_90d": rng.binomial(1, 0.03, n_merchants),
            "alliance_closures": rng.binomial(3, 0.05, n_merchants),
        }
    )
    products = pd.DataFrame(
        {
            "product_id": [f"p{i}" for i in range(n_products)],
            "merchant_id": np.char.add("m", rng.integers(0, n_merchants, n_products).astype(str)),
            "price": rng.uniform(5, 500, n_products),
        }
    )
    n_cat = rng.integers(1, 4, n_creators)
    creators = pd.DataFrame(
        {
            "creator_id": [f"c{i}" for i in range(n_creators)],
            "followers": rng.lognormal(9, 2, n_creators).astype(np.int64),
            "region": REGIONS[rng.integers(0, len(REGIONS), n_creators)],
            "categories": [list(rng.choice(CATEGORIES, k, replace=False)) for k in n_cat],
            "real_name_verified": rng.random(n_creators) < 0.97,
            "showcase_enabled": rng.random(n_creators) < 0.95,
            "deposit_paid": rng.random(n_creators) < 0.95,
        }
    )
    kind = rng.choice(4, n_plans, p=[0.65, 0.05, 0.10, 0.20])  # open, exclusive, targeted, tiered
    types = np.array(["open", "exclusive", "targeted", "tiered"])[kind]
    listed = (kind == 1) | (kind == 2)
    creator_ids = [
        [f"c{j}" for j in rng.integers(0, n_creators, rng.integers(1, 6))] if is_listed else [] for is_listed in listed
    ]
    tiers = [[[10.0, 0.12], [100.0, 0.15], [1000.0, 0.2]] if k == 3 else [] for k in kind]
    cats = [list(rng.choice(CATEGORIES, 2, replace=False)) if r < 0.3 else [] for r in rng.random(n_plans)]
    regs = [list(rng.choice(REGIONS, 5, replace=False)) if r < 0.2 else [] for r in rng.random(n_plans)]
    plans = pd.DataFrame(
        {
            "plan_id": [f"pl{i}" for i in range(n_plans)],
            "product_id": np.char.add("p", (np.arange(n_plans) % n_products).astype(str)),
            "plan_type": types,
            "commission_rate": rng.choice([0.05, 0.1, 0.2, 0.3], n_plans),
            "creator_ids": creator_ids,
            "tiers": tiers,
            "tier_basis": np.where(rng.random(n_plans) < 0.5, "units", "gmv"),
            "min_followers": rng.choice([0, 0, 1000, 10000], n_plans),
            "allowed_categories": cats,
            "allowed_regions": regs,
            "starts_at": NOW - pd.to_timedelta(rng.integers(-5, 60, n_plans), unit="D"),
            "ends_at": pd.Series(NOW + pd.to_timedelta(rng.integers(-5, 90, n_plans), unit="D")).where(
                rng.random(n_plans) < 0.5
            ),
            "budget": np.where(rng.random(n_plans) < 0.3, 1000.0, np.nan),
            "budget_spent": rng.uniform(0, 1200, n_plans),
        }
    )
    return {"plans": plans, "products": products, "merchants": merchants, "creators": creators}


def _edited(plans: pd.DataFrame, i: int) -> pd.DataFrame:
    return plans.iloc[i * 100 : (i + 1) * 100].assign(commission_rate=0.25, ends_at=NOW + pd.Timedelta(days=30))


def _added(plans: pd.DataFrame, i: int) -> pd.DataFrame:
    return plans.iloc[i * 100 : (i + 1) * 100].assign(plan_id=lambda f: f["plan_id"] + f"_new{i}")


def _per_call_ms(fn, repeats: int) -> tuple[float, float]:
    times = []
    for i in range(repeats):
        start = time.perf_counter()
        fn(i)
        times.append((time.perf_counter() - start) * 1000)
    return float(np.median(times)), float(np.percentile(times, 95))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plans", type=int, default=1_000_000)
    parser.add_argument("--products", type=int, default=1_000_000)
    parser.add_argument("--creators", type=int, default=100_000)
    parser.add_argument("--candidates", type=int, default=1_000)
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rules = RulesSettings()
    with stage("generate synthetic marketplace"):
        market = synthetic(args.plans, args.products, args.creators, args.seed)
    process = psutil.Process()
    rss_before = process.memory_info().rss
    start = time.perf_counter()
    with stage("build PlanBook"):
        book = PlanBook.build(market["plans"], market["products"], market["merchants"], market["creators"], NOW, rules)
    build_s = time.perf_counter() - start
    rss_growth = process.memory_info().rss - rss_before
    rng = np.random.default_rng(args.seed)
    n_p, n_c, k = len(market["products"]), len(market["creators"]), args.candidates
    product_draws = [rng.integers(0, n_p, k) for _ in range(args.repeats)]
    creator_draws = [rng.integers(0, n_c, k) for _ in range(args.repeats)]
    units = rng.uniform(0, 200, k)
    rows = [
        ("build (s)", f"{build_s:.2f}", ""),
        ("PlanBook arrays (MiB)", f"{book.nbytes / 2**20:.0f}", ""),
        ("process RSS growth during build (MiB)", f"{rss_growth / 2**20:.0f}", ""),
    ]
    for name, fn, repeats in [
        (
            f"products_for_creator, {k} candidates",
            lambda i: book.products_for_creator(i % n_c, product_draws[i], units, None),
            args.repeats,
        ),
        (
            f"creators_for_product, {k} candidates",
            lambda i: book.creators_for_product(i % n_p, creator_draws[i], units, None),
            args.repeats,
        ),
        ("eligible_products_mask (all products)", lambda i: book.eligible_products_mask(i % n_c), 50),
        ("eligible_creators_mask (all creators)", lambda i: book.eligible_creators_mask(i % n_p), 50),
        ("at(now + 1 day)", lambda i: book.at(NOW + pd.Timedelta(days=1)), 5),
        ("refresh: 100 plans, new rates/windows (ms)", lambda i: book.refresh(_edited(market["plans"], i)), 5),
        ("refresh: 100 new plans (ms)", lambda i: book.refresh(_added(market["plans"], i)), 3),
    ]:
        median, p95 = _per_call_ms(fn, repeats)
        rows.append((name if name.endswith("(ms)") else name + " (ms)", f"{median:.2f}", f"{p95:.2f}"))
    eligible = book.products_for_creator(0, np.arange(min(n_p, 100_000))).eligible.mean()
    table = Table(title=f"PlanBook: {args.plans:,} plans, {n_p:,} products, {n_c:,} creators")
    for column in ("figure", "median", "p95"):
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    console = Console()
    console.print(table)
    console.print(f"share of the first 100k products eligible for creator 0: {eligible:.1%}")


if __name__ == "__main__":
    main()
