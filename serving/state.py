"""Assembling a ready matcher from the current bundle and the store (used by the service and the CLI).

The bundle fixes *who* can be matched (its id maps); the store says what holds *now*: plans, admission data,
prices. Rows are aligned to the bundle; an entity the store no longer has is kept as a placeholder that no rule
admits, so it is never recommended.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from models.bundle import Bundle, load_current
from models.catalog import Catalog
from models.matcher import Matcher
from recsys.config import Settings
from recsys.rules import PlanBook
from recsys.schema import Marketplace
from recsys.store import Store, now_utc


def _aligned(frame: pd.DataFrame, key: str, ids: pd.Index, placeholder: dict[str, object]) -> pd.DataFrame:
    out = frame.set_index(key).reindex(ids)
    missing = out.index[out.isna().all(axis=1)]
    for col, value in placeholder.items():
        if col in out.columns and len(missing):
            out.loc[missing, col] = pd.Series([value] * len(missing), index=missing, dtype=object)
    return out.rename_axis(key).reset_index()


def build_planbook(market: Marketplace, bundle: Bundle, settings: Settings) -> PlanBook:
    """The plan rules for ``market``'s current plans, rows aligned with ``bundle``'s id maps."""
    tables = bundle.engine.tables
    products = _aligned(
        market.products, "product_id", tables.products.index,
        {"merchant_id": "__removed__", "price": 1.0},
    )
    creators = _aligned(
        market.creators, "creator_id", tables.creators.index,
        {"followers": 0, "region": "", "categories": [], "real_name_verified": False,
         "showcase_enabled": False, "deposit_paid": False},
    )
    plans = market.plans[market.plans["product_id"].isin(tables.products.index)]
    return PlanBook.build(plans, products, market.merchants, creators, now_utc(), settings.rules)


@dataclass
class MatcherState:
    """A matcher with the bundle and store snapshot it was built from."""

    matcher: Matcher
    bundle: Bundle
    revision: int


def open_matcher_state(settings: Settings, store: Store | None = None) -> MatcherState:
    """Load the current bundle and the store's current tables into a matcher."""
    store = store or Store.from_settings(settings)
    revision = store.current_revision()
    market = store.load_marketplace()
    bundle = load_current(settings.artifacts_dir)
    tables = bundle.engine.tables
    catalog = Catalog.build(market, tables.creators, tables.products)
    planbook = build_planbook(market, bundle, settings)
    return MatcherState(Matcher(bundle.engine, catalog, planbook, settings), bundle, revision)


def open_matcher(settings: Settings) -> Matcher:
    return open_matcher_state(settings).matcher
