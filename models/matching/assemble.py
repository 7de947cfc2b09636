"""The one place a matcher is assembled from a trained engine and a marketplace's current tables."""

from __future__ import annotations

from datetime import datetime

from models.engine import Engine
from models.matching.catalog import Catalog
from models.matching.matcher import Matcher
from models.matching.rulebook import aligned_planbook
from recsys.core.config import Settings
from recsys.core.schema import Marketplace


def assemble_matcher(engine: Engine, market: Marketplace, settings: Settings, now: datetime) -> Matcher:
    """A matcher over ``engine`` with ``market``'s catalogue and plan rules as of ``now``, rows aligned with the
    engine's id maps (entities the market no longer has are never recommended)."""
    tables = engine.tables
    catalog = Catalog.build(market, tables.creators, tables.products)
    return Matcher(engine, catalog, aligned_planbook(market, tables, settings.rules, now), settings)
