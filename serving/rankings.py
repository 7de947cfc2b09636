"""Hot lists (:mod:`models.matching.hotlists`) as response items, cached per matcher state (a plan edit or reload
makes a new state)."""

from __future__ import annotations

import numpy as np

from models.matching.hotlists import HotList, HotListKind, hot_list
from recsys.core.config import Settings
from serving.schemas import RankingItem
from serving.state import MatcherState
from serving.views import fan_tier, number, text


def _creator_items(state: MatcherState, hot: HotList) -> list[RankingItem]:
    tables, catalog = state.bundle.engine.tables, state.matcher.catalog
    listed = tables.arrays["creator_category_listed"]
    items = []
    for rank, (row, gmv) in enumerate(zip(hot.rows.tolist(), hot.recent_gmv.tolist(), strict=True), start=1):
        main = int(np.argmax(listed[row])) if listed[row].max() > 0 else -1
        items.append(
            RankingItem(
                rank=rank,
                creator_id=tables.creators.id(row),
                name=text(catalog.creator_name[row]),
                category=tables.categories[main] if main >= 0 else None,
                region=text(catalog.creator_region[row]),
                followers=int(catalog.creator_followers[row]),
                fan_tier=fan_tier(state, row),
                recent_gmv=round(float(gmv), 2),
            )
        )
    return items


def _product_items(state: MatcherState, hot: HotList) -> list[RankingItem]:
    tables, catalog = state.bundle.engine.tables, state.matcher.catalog
    assert hot.rate is not None and hot.days_listed is not None
    return [
        RankingItem(
            rank=j + 1,
            product_id=tables.products.id(row),
            name=text(catalog.product_title[row]),
            category=text(catalog.product_category[row]) or None,
            merchant_id=text(catalog.product_merchant[row]),
            price=number(catalog.product_price[row]),
            days_listed=round(float(hot.days_listed[j]), 1),
            recent_gmv=round(float(hot.recent_gmv[j]), 2),
            commission_rate=round(float(hot.rate[j]), 4),
        )
        for j, row in enumerate(hot.rows.tolist())
    ]


def ranking(state: MatcherState, kind: str, category: str | None, settings: Settings) -> list[RankingItem]:
    """The full list (up to :data:`models.matching.hotlists.LIST_DEPTH`), cached on ``state``."""
    key = f"ranking:{kind}:{category}"
    cached = state.cache.get(key)
    if cached is None:
        engagement = state.bundle.engine.engagement
        flagged = engagement.flagged if engagement is not None else None
        hot = hot_list(state.matcher, HotListKind(kind), category, settings.serving.new_hit_days, flagged)
        cached = _creator_items(state, hot) if hot.kind is HotListKind.TOP_CREATORS else _product_items(state, hot)
        state.cache[key] = cached
    return list(cached)
