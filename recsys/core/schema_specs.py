"""The dataset tables, described once: each a :class:`TableSpec` of :class:`ColumnSpec` rows, with the closed sets
(plan types, promotion formats, order states, audience share groups) their columns take.

Everything else derives from these specs: the store's SQLAlchemy tables (:mod:`recsys.core.schema_sql`), the per-row
validation of imports (``recsys.core.datasets``), the synthetic generator's files and :class:`Marketplace`'s frames.
Import the names from :mod:`recsys.core.schema`, which re-exports them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

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
