"""The rules' typed inputs: immutable records of the entities the rules look at, built from the schema's frames.

Each record has ``from_row(row, row_number)`` (a mapping such as a frame row) and ``from_frame(frame)``.
Bad cells raise ``ValueError`` naming the table, row, field and reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from recsys.core.rules._columns import (
    Tiers,
    as_bool,
    as_optional_float,
    as_str_tuple,
    as_tiers,
    as_timestamp,
    is_missing,
    require_timestamp,
)
from recsys.core.schema import LISTED_PLAN_TYPES


def _where(table: str, row: Mapping[str, Any], key: str, row_number: int | None) -> str:
    ident = row.get(key)
    at = f"row {row_number}" if row_number is not None else "row"
    return f"{table} {at} ({key} {ident!r})"


def _get(row: Mapping[str, Any], field: str, where: str) -> Any:
    if field not in row:
        raise ValueError(f"{where}: field {field!r} is missing")
    return row[field]


def _int(row: Mapping[str, Any], field: str, where: str, default: int | None = None) -> int:
    value = row.get(field, default) if default is not None else _get(row, field, where)
    if is_missing(value):
        if default is None:
            raise ValueError(f"{where}: field {field!r} is required, got an empty value")
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: field {field!r} must be an integer, got {value!r}") from None


def _float(row: Mapping[str, Any], field: str, where: str) -> float:
    value = as_optional_float(_get(row, field, where), where, field)
    return float("nan") if value is None else value


def _bool(row: Mapping[str, Any], field: str, where: str) -> bool:
    return as_bool(_get(row, field, where), where, field)


def _records(frame: pd.DataFrame, build: Any) -> list[Any]:
    return [build(row, i) for i, row in enumerate(frame.to_dict(orient="records"))]


@dataclass(frozen=True)
class PlanTerms:
    """One promotion plan; ``tiers`` are ``(min_amount, rate)`` steps over the cumulative ``tier_basis``."""

    plan_id: str
    product_id: str
    plan_type: str
    commission_rate: float
    starts_at: pd.Timestamp
    creator_ids: frozenset[str] = frozenset()
    tiers: Tiers = ()
    tier_basis: str = "units"
    min_followers: int = 0
    allowed_categories: frozenset[str] = frozenset()
    allowed_regions: frozenset[str] = frozenset()
    ends_at: pd.Timestamp | None = None
    budget: float | None = None
    budget_spent: float = 0.0

    @property
    def is_listed(self) -> bool:
        """Exclusive and targeted plans are offered only to the creators they list."""
        return self.plan_type in LISTED_PLAN_TYPES

    @classmethod
    def from_row(cls, row: Mapping[str, Any], row_number: int | None = None) -> PlanTerms:
        where = _where("plans", row, "plan_id", row_number)
        basis = row.get("tier_basis")
        spent = as_optional_float(row.get("budget_spent"), where, "budget_spent")
        return cls(
            plan_id=str(_get(row, "plan_id", where)),
            product_id=str(_get(row, "product_id", where)),
            plan_type=str(_get(row, "plan_type", where)),
            commission_rate=_float(row, "commission_rate", where),
            starts_at=require_timestamp(_get(row, "starts_at", where), where, "starts_at"),
            creator_ids=frozenset(as_str_tuple(row.get("creator_ids"), where, "creator_ids")),
            tiers=as_tiers(row.get("tiers"), where),
            tier_basis="units" if is_missing(basis) else str(basis),
            min_followers=_int(row, "min_followers", where, default=0),
            allowed_categories=frozenset(as_str_tuple(row.get("allowed_categories"), where, "allowed_categories")),
            allowed_regions=frozenset(as_str_tuple(row.get("allowed_regions"), where, "allowed_regions")),
            ends_at=as_timestamp(row.get("ends_at"), where, "ends_at"),
            budget=as_optional_float(row.get("budget"), where, "budget"),
            budget_spent=0.0 if spent is None else spent,
        )

    @classmethod
    def from_frame(cls, plans: pd.DataFrame) -> list[PlanTerms]:
        return _records(plans, cls.from_row)


@dataclass(frozen=True)
class CreatorProfile:
    """What the rules need to know about a creator."""

    creator_id: str
    followers: int
    region: str
    categories: frozenset[str]
    real_name_verified: bool
    showcase_enabled: bool
    deposit_paid: bool

    @classmethod
    def from_row(cls, row: Mapping[str, Any], row_number: int | None = None) -> CreatorProfile:
        where = _where("creators", row, "creator_id", row_number)
        return cls(
            creator_id=str(_get(row, "creator_id", where)),
            followers=_int(row, "followers", where),
            region=str(_get(row, "region", where)),
            categories=frozenset(as_str_tuple(_get(row, "categories", where), where, "categories")),
            real_name_verified=_bool(row, "real_name_verified", where),
            showcase_enabled=_bool(row, "showcase_enabled", where),
            deposit_paid=_bool(row, "deposit_paid", where),
        )

    @classmethod
    def from_frame(cls, creators: pd.DataFrame) -> list[CreatorProfile]:
        return _records(creators, cls.from_row)


@dataclass(frozen=True)
class MerchantProfile:
    """What merchant admission looks at. ``experience_score`` is on the ``rules.experience_scale`` scale."""

    merchant_id: str
    joined_at: pd.Timestamp | None
    experience_score: float
    good_review_rate: float
    violations_90d: int
    alliance_closures: int

    @classmethod
    def from_row(cls, row: Mapping[str, Any], row_number: int | None = None) -> MerchantProfile:
        where = _where("merchants", row, "merchant_id", row_number)
        return cls(
            merchant_id=str(_get(row, "merchant_id", where)),
            joined_at=as_timestamp(_get(row, "joined_at", where), where, "joined_at"),
            experience_score=_float(row, "experience_score", where),
            good_review_rate=_float(row, "good_review_rate", where),
            violations_90d=_int(row, "violations_90d", where),
            alliance_closures=_int(row, "alliance_closures", where),
        )

    @classmethod
    def from_frame(cls, merchants: pd.DataFrame) -> list[MerchantProfile]:
        return _records(merchants, cls.from_row)


@dataclass(frozen=True)
class ProductProfile:
    """A product as the rules see it: its merchant and unit price (the GMV basis of tiered plans)."""

    product_id: str
    merchant_id: str
    price: float

    @classmethod
    def from_row(cls, row: Mapping[str, Any], row_number: int | None = None) -> ProductProfile:
        where = _where("products", row, "product_id", row_number)
        return cls(
            product_id=str(_get(row, "product_id", where)),
            merchant_id=str(_get(row, "merchant_id", where)),
            price=_float(row, "price", where),
        )

    @classmethod
    def from_frame(cls, products: pd.DataFrame) -> list[ProductProfile]:
        return _records(products, cls.from_row)
