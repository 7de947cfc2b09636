"""Public hot lists computed from the model's feature tables and the public plans open now.

- ``top-creators``: creators by GMV over the last 30 days of the model's data (``c_log_gmv_30d``);
- ``new-hits``: products listed within ``serving.new_hit_days`` with the highest 30-day GMV;
- ``commission-picks``: products with the best public commission open now (open plans and tiered base rates).

Only public information: product lists hold products of admitted merchants that have a public plan open now,
and the rates shown are public rates — an exclusive or targeted plan never contributes. Lists are cached per
matcher state (a plan edit or reload makes a new state).
"""

from __future__ import annotations

import numpy as np

from recsys.core.config import Settings
from serving.schemas import RankingItem
from serving.state import MatcherState
from serving.views import fan_tier, number, text

LIST_DEPTH = 200


def public_rates(state: MatcherState) -> np.ndarray:
    """Best public commission rate open now per product row (NaN where none), from the plan rules; without them
    (offline), the bundle's best public rate at training time."""
    book = state.matcher.planbook
    if book is None:
        return state.bundle.engine.tables.arrays["product_best_rate"].astype(np.float64)
    return book.public_rates()


def _column(matrix: np.ndarray, names: list[str], name: str) -> np.ndarray:
    return np.nan_to_num(matrix[:, names.index(name)].astype(np.float64), nan=0.0)


def _category_code(state: MatcherState, category: str | None) -> int | None:
    return None if category is None else state.bundle.engine.tables.categories.index(category)


def _top(values: np.ndarray, mask: np.ndarray, tie: np.ndarray) -> np.ndarray:
    rows = np.flatnonzero(mask)
    order = np.lexsort((rows, -tie[rows], -values[rows]))
    return rows[order][:LIST_DEPTH]


def top_creators(state: MatcherState, category: str | None) -> list[RankingItem]:
    tables = state.bundle.engine.tables
    gmv = np.expm1(_column(tables.creator, tables.creator_names, "c_log_gmv_30d"))
    listed = tables.arrays["creator_category_listed"]
    code = _category_code(state, category)
    mask = gmv > 0
    if code is not None:
        mask &= listed[:, code] > 0
    catalog = state.matcher.catalog
    items = []
    for rank, row in enumerate(_top(gmv, mask, catalog.creator_followers.astype(np.float64)), start=1):
        main = int(np.argmax(listed[row])) if listed[row].max() > 0 else -1
        items.append(
            RankingItem(
                rank=rank,
                creator_id=tables.creators.id(int(row)),
                name=text(catalog.creator_name[row]),
                category=tables.categories[main] if main >= 0 else None,
                region=text(catalog.creator_region[row]),
                followers=int(catalog.creator_followers[row]),
                fan_tier=fan_tier(state, int(row)),
                recent_gmv=round(float(gmv[row]), 2),
            )
        )
    return items


def _product_items(state: MatcherState, rows: np.ndarray, gmv: np.ndarray, rates: np.ndarray) -> list[RankingItem]:
    tables, catalog = state.bundle.engine.tables, state.matcher.catalog
    days = _column(tables.product, tables.product_names, "p_days_listed")
    return [
        RankingItem(
            rank=rank,
            product_id=tables.products.id(int(row)),
            name=text(catalog.product_title[row]),
            category=text(catalog.product_category[row]) or None,
            merchant_id=text(catalog.product_merchant[row]),
            price=number(catalog.product_price[row]),
            days_listed=round(float(days[row]), 1),
            recent_gmv=round(float(gmv[row]), 2),
            commission_rate=round(float(rates[row]), 4),
        )
        for rank, row in enumerate(rows, start=1)
    ]


def product_ranking(state: MatcherState, kind: str, category: str | None, settings: Settings) -> list[RankingItem]:
    tables = state.bundle.engine.tables
    rates = public_rates(state)
    gmv = np.expm1(_column(tables.product, tables.product_names, "p_log_gmv_30d"))
    mask = np.isfinite(rates)
    book = state.matcher.planbook
    if book is not None:
        mask &= book.admitted_products
    code = _category_code(state, category)
    if code is not None:
        mask &= tables.arrays["product_category"] == code
    if kind == "new-hits":
        days = _column(tables.product, tables.product_names, "p_days_listed")
        mask &= (days <= settings.serving.new_hit_days) & (gmv > 0)
        rows = _top(gmv, mask, np.nan_to_num(rates))
    else:
        rows = _top(np.nan_to_num(rates), mask, gmv)
    return _product_items(state, rows, gmv, rates)


def ranking(state: MatcherState, kind: str, category: str | None, settings: Settings) -> list[RankingItem]:
    """The full list (up to :data:`LIST_DEPTH`), cached on ``state``."""
    key = f"ranking:{kind}:{category}"
    cached = state.cache.get(key)
    if cached is None:
        cached = (
            top_creators(state, category)
            if kind == "top-creators"
            else product_ranking(state, kind, category, settings)
        )
        state.cache[key] = cached
    return list(cached)
