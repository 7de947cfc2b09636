"""The marketplace data model: the one place that names a table or a column.

Each table is described once, as a :class:`TableSpec` of :class:`ColumnSpec` rows. From that description come the
SQLAlchemy tables of the store (:data:`METADATA`), the per-row validation of imports (``recsys.core.datasets``), the
files the synthetic generator writes, and the frames that feature builders read (:class:`Marketplace`).

Entity tables (merchants, products, creators) accept *extra* columns: any further numeric column, and any
fixed-length list-of-floats (embedding) column, is kept in the store's ``extra`` JSON column and flows into features.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from recsys.core.vocab import AgeBand, AudienceGender, CityTier, FanTier, PlanType, PromotionFormat

ColumnKind = Literal["str", "int", "float", "bool", "datetime", "str_list", "tiers"]

# --- audience share groups -------------------------------------------------------------------------------------
# Creators carry their audience as ``aud_<key>``; products may carry their target audience as ``target_<key>``.
GENDER_KEYS: tuple[str, ...] = tuple(g.value for g in AudienceGender)
AGE_KEYS: tuple[str, ...] = tuple(a.value for a in AgeBand)
CITY_TIER_KEYS: tuple[str, ...] = tuple(t.value for t in CityTier)
SHARE_GROUPS: dict[str, tuple[str, ...]] = {"gender": GENDER_KEYS, "age": AGE_KEYS, "city_tier": CITY_TIER_KEYS}
AUDIENCE_KEYS: tuple[str, ...] = GENDER_KEYS + AGE_KEYS + CITY_TIER_KEYS
SHARE_TOLERANCE = 0.01

PLAN_TYPES: tuple[str, ...] = tuple(t.value for t in PlanType)
LISTED_PLAN_TYPES: tuple[str, ...] = tuple(t.value for t in PlanType if t.listed)  # plans that name their creators
PUBLIC_PLAN_TYPES: tuple[str, ...] = tuple(t.value for t in PlanType if not t.listed)  # open to every creator
TIER_BASES: tuple[str, ...] = ("units", "gmv")
PROMOTION_FORMATS: tuple[str, ...] = tuple(f.value for f in PromotionFormat)
ORDER_STATUSES: tuple[str, ...] = ("placed", "confirmed", "refunded", "settled")

# Fan tiers by follower count: (name, lower bound inclusive), from :class:`recsys.core.vocab.FanTier`.
FAN_TIERS: tuple[tuple[str, int], ...] = tuple((t.value, t.min_followers) for t in FanTier)


def audience_columns(prefix: Literal["aud", "target"]) -> list[str]:
    """``aud_female, aud_male, aud_age_18_23, ...`` (creators) or ``target_...`` (products)."""
    return [f"{prefix}_{key}" for key in AUDIENCE_KEYS]


@dataclass(frozen=True)
class ColumnSpec:
    """One column: its type, whether it is required, and the value rules a row must meet."""

    name: str
    kind: ColumnKind
    required: bool = True  # a value must be present and non-empty
    min: float | None = None
    max: float | None = None
    min_exclusive: bool = False
    enum: tuple[str, ...] | None = None
    default: object = None  # used for optional columns missing from a file
    description: str = ""


@dataclass(frozen=True)
class TableSpec:
    """A table: key, columns, references to other tables, share groups and whether extra columns are kept."""

    name: str
    key: str
    columns: tuple[ColumnSpec, ...]
    references: dict[str, str] = field(default_factory=dict)  # column -> referenced table
    share_groups: dict[str, tuple[str, ...]] = field(default_factory=dict)  # group -> columns summing to 1
    optional_share_groups: bool = False  # a group may be absent as a whole (all null)
    keeps_extras: bool = False
    load_order: int = 0

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> ColumnSpec:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name!r}")


def _id(name: str) -> ColumnSpec:
    return ColumnSpec(name, "str", description="identifier")


def _rate(name: str, required: bool = True, description: str = "") -> ColumnSpec:
    return ColumnSpec(name, "float", required=required, min=0.0, max=1.0, description=description)


def _count(name: str, description: str = "") -> ColumnSpec:
    return ColumnSpec(name, "int", min=0, description=description)


def _shares(prefix: Literal["aud", "target"], required: bool) -> tuple[ColumnSpec, ...]:
    return tuple(_rate(c, required=required, description="audience share") for c in audience_columns(prefix))


def _groups(prefix: str) -> dict[str, tuple[str, ...]]:
    return {g: tuple(f"{prefix}_{k}" for k in keys) for g, keys in SHARE_GROUPS.items()}


MERCHANTS = TableSpec(
    name="merchants",
    key="merchant_id",
    load_order=0,
    keeps_extras=True,
    columns=(
        _id("merchant_id"),
        ColumnSpec("name", "str"),
        ColumnSpec("joined_at", "datetime"),
        ColumnSpec(
            "experience_score", "float", min=0.0, max=100.0, description="0–100 or 0–5 (rules.experience_scale)"
        ),
        _rate("good_review_rate", description="good-review rate over 30 days"),
        _count("violations_90d", "serious violations in the last 90 days"),
        _count("alliance_closures", "times the merchant's alliance access was closed"),
        ColumnSpec("region", "str"),
    ),
)

PRODUCTS = TableSpec(
    name="products",
    key="product_id",
    load_order=1,
    keeps_extras=True,
    references={"merchant_id": "merchants"},
    share_groups=_groups("target"),
    optional_share_groups=True,
    columns=(
        _id("product_id"),
        _id("merchant_id"),
        ColumnSpec("title", "str"),
        ColumnSpec("category", "str"),
        ColumnSpec("price", "float", min=0.0, min_exclusive=True),
        ColumnSpec("rating", "float", min=0.0, max=5.0),
        ColumnSpec("service_score", "float", min=0.0, max=5.0),
        ColumnSpec("listed_at", "datetime"),
        *_shares("target", required=False),
    ),
)

CREATORS = TableSpec(
    name="creators",
    key="creator_id",
    load_order=1,
    keeps_extras=True,
    share_groups=_groups("aud"),
    columns=(
        _id("creator_id"),
        ColumnSpec("name", "str"),
        _count("followers"),
        ColumnSpec("region", "str"),
        ColumnSpec("categories", "str_list", description="content categories, at least one"),
        ColumnSpec("joined_at", "datetime"),
        ColumnSpec("real_name_verified", "bool"),
        ColumnSpec("showcase_enabled", "bool"),
        ColumnSpec("deposit_paid", "bool"),
        *_shares("aud", required=True),
        ColumnSpec("avg_views", "float", min=0.0),
        _rate("like_rate"),
        _rate("comment_rate"),
        _rate("share_rate"),
        _rate("completion_rate"),
    ),
)

PLANS = TableSpec(
    name="plans",
    key="plan_id",
    load_order=2,
    references={"product_id": "products"},
    columns=(
        _id("plan_id"),
        _id("product_id"),
        ColumnSpec("plan_type", "str", enum=PLAN_TYPES),
        ColumnSpec("commission_rate", "float", min=0.0, max=1.0, description="within rules.commission_min..max"),
        ColumnSpec("creator_ids", "str_list", required=False, default=(), description="exclusive/targeted only"),
        ColumnSpec("tiers", "tiers", required=False, default=(), description="tiered only: [[min_units, rate], ...]"),
        ColumnSpec("tier_basis", "str", required=False, enum=TIER_BASES, default="units"),
        ColumnSpec("min_followers", "int", required=False, min=0, default=0),
        ColumnSpec("allowed_categories", "str_list", required=False, default=(), description="empty = any"),
        ColumnSpec("allowed_regions", "str_list", required=False, default=(), description="empty = any"),
        ColumnSpec("starts_at", "datetime"),
        ColumnSpec("ends_at", "datetime", required=False, description="empty = open-ended"),
        ColumnSpec("budget", "float", required=False, min=0.0, description="commission budget; empty = unlimited"),
        ColumnSpec("budget_spent", "float", required=False, min=0.0, default=0.0),
    ),
)

PROMOTIONS = TableSpec(
    name="promotions",
    key="promotion_id",
    load_order=3,
    references={"creator_id": "creators", "product_id": "products", "plan_id": "plans"},
    columns=(
        _id("promotion_id"),
        _id("creator_id"),
        _id("product_id"),
        _id("plan_id"),
        ColumnSpec("started_at", "datetime"),
        ColumnSpec("format", "str", enum=PROMOTION_FORMATS),
        _count("views"),
        _count("likes"),
        _count("comments"),
        _count("shares"),
        _rate("completion_rate"),
        _count("clicks"),
        _count("orders"),
        ColumnSpec("gmv", "float", min=0.0),
        _count("refunds", "refunded orders"),
    ),
)

ORDERS = TableSpec(
    name="orders",
    key="order_id",
    load_order=4,
    references={"promotion_id": "promotions"},
    columns=(
        _id("order_id"),
        _id("promotion_id"),
        ColumnSpec("amount", "float", min=0.0, min_exclusive=True),
        ColumnSpec("created_at", "datetime"),
        ColumnSpec("confirmed_at", "datetime", required=False),
        ColumnSpec("refunded_at", "datetime", required=False),
        ColumnSpec("status", "str", enum=ORDER_STATUSES),
    ),
)

TABLES: dict[str, TableSpec] = {t.name: t for t in (MERCHANTS, PRODUCTS, CREATORS, PLANS, PROMOTIONS, ORDERS)}
"""The dataset tables in load order (a table only references tables before it)."""

CAPACITY_COLUMNS: dict[str, tuple[str, ...]] = {
    "creators": ("weekly_capacity",),
    "products": ("sample_stock", "sample_cost"),
}
"""Optional extra columns the matcher reads as capacities and sample policy, never as model features: a creator's
``weekly_capacity`` (new collaborations a week; default by fan tier, ``matching.capacity_*``), a product's
``sample_stock`` (samples left; empty = unlimited) and ``sample_cost`` (yuan one sample costs the merchant, goods and
shipping; empty = ``rules.sample_cost_share`` x price + ``rules.sample_shipping``). Like other extra columns they
live in the store's ``extra`` JSON column."""

EXTRA_COLUMN = "extra"  # store column holding extra numeric / embedding columns as JSON
REVISION_COLUMN = "revision"  # store column: monotone write counter, lets services refresh incrementally


# --- SQLAlchemy tables ------------------------------------------------------------------------------------------

METADATA = sa.MetaData()

_JSON = sa.JSON().with_variant(JSONB(), "postgresql")  # JSONB compares by value (upserts skip identical rows)

_SA_TYPES: dict[ColumnKind, sa.types.TypeEngine] = {
    "str": sa.String(),
    "int": sa.BigInteger(),
    "float": sa.Float(),
    "bool": sa.Boolean(),
    "datetime": sa.DateTime(),
    "str_list": _JSON,
    "tiers": _JSON,
}


def _sa_table(spec: TableSpec) -> sa.Table:
    cols: list[sa.Column] = []
    for c in spec.columns:
        cols.append(
            sa.Column(
                c.name,
                _SA_TYPES[c.kind],
                primary_key=c.name == spec.key,
                nullable=not (c.required or c.name == spec.key),
                index=c.name in spec.references,
            )
        )
    if spec.keeps_extras:
        cols.append(sa.Column(EXTRA_COLUMN, _JSON, nullable=True))
    cols.append(sa.Column(REVISION_COLUMN, sa.BigInteger(), nullable=False, default=0, index=True))
    return sa.Table(spec.name, METADATA, *cols)


SA_TABLES: dict[str, sa.Table] = {name: _sa_table(spec) for name, spec in TABLES.items()}

# Service tables (not part of a dataset directory).
API_KEYS = sa.Table(
    "api_keys",
    METADATA,
    sa.Column("key_id", sa.String(), primary_key=True),
    sa.Column("key_hash", sa.String(), nullable=False, unique=True),
    sa.Column("role", sa.String(), nullable=False),  # admin | merchant | creator
    sa.Column("tenant_id", sa.String(), nullable=True),  # merchant_id or creator_id
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Column("revoked_at", sa.DateTime(), nullable=True),
)

EVENTS = sa.Table(
    "events",
    METADATA,
    sa.Column("event_id", sa.String(), primary_key=True),
    sa.Column("kind", sa.String(), nullable=False),  # promotion | order
    sa.Column("entity_id", sa.String(), nullable=False),
    sa.Column("payload", _JSON, nullable=False),
    sa.Column("received_at", sa.DateTime(), nullable=False),
)

QUARANTINED_EVENTS = sa.Table(
    "quarantined_events",
    METADATA,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.String(), nullable=True, index=True),  # one row per event id (serving/events.py)
    sa.Column("kind", sa.String(), nullable=True),
    sa.Column("payload", _JSON, nullable=False),
    sa.Column("reason", sa.String(), nullable=False),
    sa.Column("received_at", sa.DateTime(), nullable=False),
)

REVISIONS = sa.Table(
    "revisions",
    METADATA,
    sa.Column("name", sa.String(), primary_key=True),
    sa.Column("value", sa.BigInteger(), nullable=False),
)

# Workflow tables (invitations, samples, collaborations: ``recsys.core.workflows``). Every state change has its own
# ``*_at`` column, so features read them point in time; ``revision`` lets services refresh incrementally. Created by
# ``Store.create_schema`` like every table here, so an older store gains them on open, its data untouched.
INVITES = sa.Table(
    "invites",
    METADATA,
    sa.Column("invite_id", sa.String(), primary_key=True),
    sa.Column("product_id", sa.String(), nullable=False, index=True),
    sa.Column("merchant_id", sa.String(), nullable=False),
    sa.Column("creator_id", sa.String(), nullable=False, index=True),
    sa.Column("plan_id", sa.String(), nullable=False),  # the targeted plan the invite lists the creator in
    sa.Column("commission_rate", sa.Float(), nullable=False),
    sa.Column("status", sa.String(), nullable=False),  # pending | accepted | declined (expired: read-time)
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Column("extended_at", sa.DateTime(), nullable=True),  # last time a new invitation extended it
    sa.Column("expires_at", sa.DateTime(), nullable=False),
    sa.Column("accepted_at", sa.DateTime(), nullable=True),
    sa.Column("declined_at", sa.DateTime(), nullable=True),
    sa.Column(REVISION_COLUMN, sa.BigInteger(), nullable=False, default=0, index=True),
)

SAMPLE_REQUESTS = sa.Table(
    "sample_requests",
    METADATA,
    sa.Column("request_id", sa.String(), primary_key=True),
    sa.Column("product_id", sa.String(), nullable=False, index=True),
    sa.Column("merchant_id", sa.String(), nullable=False, index=True),
    sa.Column("creator_id", sa.String(), nullable=False, index=True),
    sa.Column("status", sa.String(), nullable=False),  # requested | approved | rejected | shipped | content_posted
    sa.Column("note", sa.String(), nullable=True),
    sa.Column("requested_at", sa.DateTime(), nullable=False),
    sa.Column("approved_at", sa.DateTime(), nullable=True),
    sa.Column("rejected_at", sa.DateTime(), nullable=True),
    sa.Column("reject_reason", sa.String(), nullable=True),
    sa.Column("shipped_at", sa.DateTime(), nullable=True),
    sa.Column("content_promotion_id", sa.String(), nullable=True),
    sa.Column("content_started_at", sa.DateTime(), nullable=True),  # when the promotion that followed started
    sa.Column("content_recorded_at", sa.DateTime(), nullable=True),  # when the creator reported it
    sa.Column(REVISION_COLUMN, sa.BigInteger(), nullable=False, default=0, index=True),
)

COLLABORATIONS = sa.Table(
    "collaborations",
    METADATA,
    sa.Column("collaboration_id", sa.String(), primary_key=True),
    sa.Column("creator_id", sa.String(), nullable=False, index=True),
    sa.Column("product_id", sa.String(), nullable=False, index=True),
    sa.Column("plan_id", sa.String(), nullable=False),
    sa.Column("source", sa.String(), nullable=False),  # invite
    sa.Column("source_id", sa.String(), nullable=False, unique=True),  # one collaboration per accepted invite
    sa.Column("started_at", sa.DateTime(), nullable=False),
    sa.Column(REVISION_COLUMN, sa.BigInteger(), nullable=False, default=0, index=True),
)


# --- in-memory marketplace ---------------------------------------------------------------------------------------

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
