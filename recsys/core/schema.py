"""The marketplace data model: the one place that names a table or a column.

Each table is described once, as a :class:`TableSpec` of :class:`ColumnSpec` rows (:mod:`recsys.core.schema_specs`).
From that description come the SQLAlchemy tables of the store (:data:`METADATA`, :mod:`recsys.core.schema_sql`), the
per-row validation of imports (``recsys.core.datasets``), the files the synthetic generator writes, and the frames
that feature builders read (:class:`Marketplace`, here). Import every name from this module: it re-exports the other
two, so callers never depend on how the data model is split.

Entity tables (merchants, products, creators) accept *extra* columns: any further numeric column, and any
fixed-length list-of-floats (embedding) column, is kept in the store's ``extra`` JSON column and flows into features.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from recsys.core.schema_specs import (
    AGE_KEYS,
    AUDIENCE_KEYS,
    CAPACITY_COLUMNS,
    CITY_TIER_KEYS,
    CREATORS,
    EXTRA_COLUMN,
    FAN_TIERS,
    GENDER_KEYS,
    LISTED_PLAN_TYPES,
    MERCHANTS,
    ORDER_STATUSES,
    ORDERS,
    PLAN_TYPES,
    PLANS,
    PRODUCTS,
    PROMOTION_FORMATS,
    PROMOTIONS,
    PUBLIC_PLAN_TYPES,
    REVISION_COLUMN,
    SHARE_GROUPS,
    SHARE_TOLERANCE,
    TABLES,
    TIER_BASES,
    ColumnKind,
    ColumnSpec,
    TableSpec,
    audience_columns,
)
from recsys.core.schema_sql import (
    API_KEYS,
    COLLABORATIONS,
    EVENTS,
    INVITES,
    METADATA,
    QUARANTINED_EVENTS,
    REVISIONS,
    SA_TABLES,
    SAMPLE_REQUESTS,
)

__all__ = [
    "AGE_KEYS",
    "API_KEYS",
    "AUDIENCE_KEYS",
    "CAPACITY_COLUMNS",
    "CITY_TIER_KEYS",
    "COLLABORATIONS",
    "CREATORS",
    "EVENTS",
    "EXTRA_COLUMN",
    "FAN_TIERS",
    "GENDER_KEYS",
    "INVITES",
    "LISTED_PLAN_TYPES",
    "MERCHANTS",
    "METADATA",
    "ORDERS",
    "ORDER_STATUSES",
    "PLANS",
    "PLAN_TYPES",
    "PRODUCTS",
    "PROMOTIONS",
    "PROMOTION_FORMATS",
    "PUBLIC_PLAN_TYPES",
    "QUARANTINED_EVENTS",
    "REVISIONS",
    "REVISION_COLUMN",
    "SAMPLE_REQUESTS",
    "SAMPLE_REQUEST_COLUMNS",
    "SA_TABLES",
    "SHARE_GROUPS",
    "SHARE_TOLERANCE",
    "TABLES",
    "TIER_BASES",
    "ColumnKind",
    "ColumnSpec",
    "Marketplace",
    "TableSpec",
    "audience_columns",
    "sample_requests_frame",
]

SAMPLE_REQUEST_COLUMNS: tuple[str, ...] = (
    *("request_id", "creator_id", "product_id", "requested_at", "shipped_at"),
    *("content_promotion_id", "content_started_at", "content_recorded_at"),
)
"""Columns of :attr:`Marketplace.sample_requests`: the store's ``sample_requests`` rows (or a dataset's optional
``sample_requests`` file), NaT / None where a step did not happen. Not a :data:`TABLES` entry: the rows are written by
the sample workflow (``recsys.core.workflows``), read by the features point in time (``features.samples``)."""


def sample_requests_frame(records: list[dict[str, object]] | pd.DataFrame | None = None) -> pd.DataFrame:
    """Sample requests as a marketplace carries them (ids str or None, ``*_at`` naive datetimes); no rows by
    default."""
    frame = pd.DataFrame(records if records is not None else [], columns=list(SAMPLE_REQUEST_COLUMNS))
    for name in SAMPLE_REQUEST_COLUMNS:
        if name.endswith("_at"):
            frame[name] = pd.to_datetime(frame[name]).astype("datetime64[us]")
        else:
            values = frame[name].astype(object)
            frame[name] = values.where(values.notna(), None)
    return frame.reset_index(drop=True)


@dataclass
class Marketplace:
    """All dataset tables as DataFrames, one row per entity, extra columns expanded.

    Produced by ``recsys.core.datasets.read_dataset`` (a directory) and
    ``recsys.core.store.Store.load_marketplace`` (the store); consumed by feature builders. Datetimes are naive
    UTC ``datetime64``; list columns hold Python lists. ``sample_requests`` (:data:`SAMPLE_REQUEST_COLUMNS`, empty
    unless given) is the sample workflow's history, not a dataset table.
    """

    merchants: pd.DataFrame
    products: pd.DataFrame
    creators: pd.DataFrame
    plans: pd.DataFrame
    promotions: pd.DataFrame
    orders: pd.DataFrame
    sample_requests: pd.DataFrame = field(default_factory=sample_requests_frame)  # not in TABLES, table(), sizes()

    def table(self, name: str) -> pd.DataFrame:
        if name not in TABLES:
            raise KeyError(f"unknown table {name!r}; known: {', '.join(TABLES)}")
        frame: pd.DataFrame = getattr(self, name)
        return frame

    def extra_columns(self, name: str) -> list[str]:
        """Columns of an entity table beyond its spec (extra numeric and embedding columns)."""
        spec = TABLES[name]
        known = set(spec.column_names)
        return [c for c in self.table(name).columns if c not in known]

    def sizes(self) -> dict[str, int]:
        return {name: len(self.table(name)) for name in TABLES}
