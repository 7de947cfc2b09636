"""Tiny hand-written marketplaces and a hypothesis strategy for random ones (shared by the rules tests)."""

from __future__ import annotations

import random
from typing import Any

import pandas as pd
from hypothesis import strategies as st

NOW = pd.Timestamp("2024-06-01 12:00:00")
DAY = pd.Timedelta(days=1)


def merchant(merchant_id: str = "m1", **overrides: Any) -> dict[str, Any]:
    row = {
        "merchant_id": merchant_id,
        "name": merchant_id,
        "joined_at": NOW - 400 * DAY,
        "experience_score": 85.0,
        "good_review_rate": 0.95,
        "violations_90d": 0,
        "alliance_closures": 0,
        "region": "north",
    }
    row.update(overrides)
    return row


def product(product_id: str = "p1", merchant_id: str = "m1", **overrides: Any) -> dict[str, Any]:
    row = {
        "product_id": product_id,
        "merchant_id": merchant_id,
        "title": product_id,
        "category": "beauty",
        "price": 50.0,
        "rating": 4.8,
        "service_score": 4.7,
        "listed_at": NOW - 100 * DAY,
    }
    row.update(overrides)
    return row


def creator(creator_id: str = "c1", **overrides: Any) -> dict[str, Any]:
    row = {
        "creator_id": creator_id,
        "name": creator_id,
        "followers": 50_000,
        "region": "north",
        "categories": ["beauty"],
        "joined_at": NOW - 300 * DAY,
        "real_name_verified": True,
        "showcase_enabled": True,
        "deposit_paid": True,
    }
    row.update(overrides)
    return row


def plan(plan_id: str = "pl1", product_id: str = "p1", plan_type: str = "open", **overrides: Any) -> dict[str, Any]:
    row = {
        "plan_id": plan_id,
        "product_id": product_id,
        "plan_type": plan_type,
        "commission_rate": 0.10,
        "creator_ids": [],
        "tiers": [],
        "tier_basis": "units",
        "min_followers": 0,
        "allowed_categories": [],
        "allowed_regions": [],
        "starts_at": NOW - 10 * DAY,
        "ends_at": None,
        "budget": None,
        "budget_spent": 0.0,
    }
    row.update(overrides)
    return row


def frame(rows: list[dict[str, Any]], like: dict[str, Any]) -> pd.DataFrame:
    """A frame of ``rows`` with ``like``'s columns even when ``rows`` is empty; times as datetime64."""
    out = pd.DataFrame(rows, columns=list(like))
    for column, value in like.items():
        if isinstance(value, pd.Timestamp) or column in ("ends_at",):
            out[column] = pd.to_datetime(out[column])
        if column in ("budget",):
            out[column] = pd.to_numeric(out[column]).astype("float64")
    return out


def frames(merchants: list[dict], products: list[dict], creators: list[dict], plans: list[dict]) -> dict:
    return {
        "merchants": frame(merchants, merchant()),
        "products": frame(products, product()),
        "creators": frame(creators, creator()),
        "plans": frame(plans, plan()),
    }


# --- random marketplaces ---------------------------------------------------------------------------------

CATEGORIES = ("beauty", "food", "tech")
REGIONS = ("north", "south", "east")


def random_marketplace(seed: int, n_plans: int) -> dict[str, Any]:
    """A small random marketplace (seeded): frames plus per-(creator, product) predicted/cumulative units.

    Values are drawn from short menus that straddle every threshold (admission, windows, budgets, bounds,
    requirements), with unknown merchants/products/creators/categories/regions mixed in.
    """
    rng = random.Random(seed)
    pick = rng.choice

    def sometimes(usual: Any, *unusual: Any, p: float = 0.2) -> Any:
        return pick(unusual) if unusual and rng.random() < p else usual

    merchants = [
        merchant(
            f"m{i}",
            experience_score=sometimes(85.0, 68.0, 62.0, 50.0, p=0.15),
            good_review_rate=sometimes(0.95, 0.8, p=0.05),
            violations_90d=sometimes(0, 1, p=0.05),
            alliance_closures=sometimes(0, 1, 3, p=0.1),
            joined_at=NOW - sometimes(400, 10, p=0.2) * DAY,
        )
        for i in range(rng.randint(1, 3))
    ]
    merchant_ids = [m["merchant_id"] for m in merchants]
    products = [
        product(f"p{i}", sometimes(pick(merchant_ids), "m_missing", p=0.05), price=pick([1.0, 9.9, 50.0]))
        for i in range(rng.randint(1, 4))
    ]
    creators = [
        creator(
            f"c{i}",
            followers=pick([0, 800, 5_000, 120_000]),
            region=pick(REGIONS),
            categories=rng.sample(CATEGORIES, rng.randint(0, 2)),
            real_name_verified=sometimes(True, False, p=0.07),
            showcase_enabled=sometimes(True, False, p=0.07),
            deposit_paid=sometimes(True, False, p=0.07),
        )
        for i in range(rng.randint(1, 5))
    ]
    creator_ids = [c["creator_id"] for c in creators] + ["c_missing"]
    product_ids = [p["product_id"] for p in products]
    plans = []
    for j in range(n_plans):
        plan_type = sometimes(pick(["open", "exclusive", "targeted", "tiered", "tiered"]), "bogus", p=0.03)
        tiers = [
            [pick([0.0, 5.0, 10.0, 50.0, 500.0]), sometimes(pick([0.1, 0.15, 0.3]), 0.95, p=0.05)]
            for _ in range(rng.randint(0, 3) if plan_type == "tiered" else 0)
        ]
        if rng.random() < 0.7:  # mostly monotone tiers
            tiers = [[m, r] for m, r in zip(sorted({t[0] for t in tiers}), sorted(t[1] for t in tiers), strict=False)]
        plans.append(
            plan(
                f"pl{j}",
                sometimes(pick(product_ids), "p_missing", p=0.05),
                plan_type,
                commission_rate=sometimes(pick([0.05, 0.1, 0.1, 0.2, 0.3]), 0.005, 0.9, p=0.08),
                creator_ids=rng.sample(creator_ids, rng.randint(0, min(3, len(creator_ids)))),
                tiers=tiers,
                tier_basis=pick(["units", "units", "gmv"]),
                min_followers=sometimes(0, 1_000, 10_000, p=0.25),
                allowed_categories=rng.sample([*CATEGORIES, "nobody"], rng.randint(0, 2)) if rng.random() < 0.3 else [],
                allowed_regions=rng.sample([*REGIONS, "west"], rng.randint(0, 2)) if rng.random() < 0.3 else [],
                starts_at=NOW + sometimes(-30, -1, 1, p=0.2) * DAY,
                ends_at=sometimes(None, NOW - DAY, NOW + 5 * DAY, p=0.3),
                budget=sometimes(None, 100.0, 0.0, p=0.2),
                budget_spent=sometimes(0.0, 100.0, p=0.2),
            )
        )
    pairs = len(creators) * len(products)
    units = [0.0, 0.0, 3.0, 12.0, 100.0]
    return {
        **frames(merchants, products, creators, plans),
        "predicted": [pick(units) for _ in range(pairs)],
        "cumulative": [pick(units) for _ in range(pairs)],
    }


def marketplaces(max_plans: int = 10) -> st.SearchStrategy[dict[str, Any]]:
    """Hypothesis strategy: random marketplaces (the seed and plan count are what hypothesis explores)."""
    return st.builds(random_marketplace, st.integers(0, 2**32 - 1), st.integers(0, max_plans))
