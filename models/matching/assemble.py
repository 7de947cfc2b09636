"""The one place a matcher is assembled from a trained engine and a marketplace's current tables."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np

from models.engine import Engine
from models.matching.catalog import Catalog
from models.matching.market import CapacityPrices, MarketState, list_exposure
from models.matching.matcher import Matcher
from models.matching.rerank import MarketView
from models.matching.rulebook import aligned_planbook
from recsys.core.config import Settings
from recsys.core.schema import Marketplace


def assemble_matcher(
    engine: Engine, market: Marketplace, settings: Settings, now: datetime, cache: Path | None = None
) -> Matcher:
    """A matcher over ``engine`` with ``market``'s catalogue, plan rules and market state as of ``now``, rows aligned
    with the engine's id maps (entities the market no longer has are never recommended). With
    ``matching.allocation`` on, the global allocation is solved here, so its prices follow every refresh.
    ``cache``: a folder where exposure counts (``exposure/``) and parsed plans (``plans/``) are kept for the next
    assembly of the same bundle and catalogue."""
    tables = engine.tables
    catalog = Catalog.build(market, tables.creators, tables.products)
    book = aligned_planbook(market, tables, settings.rules, now, cache / "plans" if cache is not None else None)
    state = MarketState.build(market, tables, settings.matching, now)
    if settings.matching.allocation:
        prices = CapacityPrices.solve(engine, book, state, settings.matching)
    else:
        prices = CapacityPrices.zero(len(tables.creators), len(tables.products))
    m = settings.matching
    products = np.flatnonzero(book.admitted_products) if book is not None else np.arange(len(tables.products))
    exposure = (
        list_exposure(
            engine.retriever, products, m.exposure_depth, m.exposure_sample, cache / "exposure" if cache else None
        )
        if m.exposure_decay > 0
        else np.zeros(len(tables.creators))
    )
    flagged = engine.engagement.flagged if engine.engagement is not None else None
    view = MarketView(state, prices, exposure, m, flagged, settings.integrity.fake_penalty)
    return Matcher(engine, catalog, book, settings, view)
