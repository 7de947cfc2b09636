"""Onboarding: ``PUT /v1/merchants|products|creators/{id}`` bodies and answers, one field per import column.

Fields, requiredness, bounds and descriptions come from the import schema (``recsys.core.schema.TABLES``). Only the
JSON types are enforced here; the value rules (ranges, share groups summing to 1, references, non-empty text) are
the importer's own (``recsys.core.datasets.validate_rows``), so a refusal carries the import's reason.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from recsys.core.schema import TABLES
from serving.schemas.common import INT64_MAX, INT64_MIN, InputModel, PublicModel, examples

ExtraValue = float | list[float]


def column(table: str, name: str, example: object = None) -> Any:
    """A field documenting import column ``table.name``: its description and bounds (OpenAPI), no enforcement."""
    spec = TABLES[table].column(name)
    schema: dict[str, Any] = {}
    if spec.min is not None:
        schema["exclusiveMinimum" if spec.min_exclusive else "minimum"] = spec.min
    if spec.max is not None:
        schema["maximum"] = spec.max
    if spec.kind == "str":
        schema["minLength"] = 1
    if spec.kind == "str_list":
        schema["minItems"] = 1
    text = spec.description or name.replace("_", " ")
    rule = " Required (non-empty)." if spec.required else " Optional."
    return Field(
        ... if spec.required else None,
        ge=INT64_MIN if spec.kind == "int" else None,  # the store's integers are 64-bit
        le=INT64_MAX if spec.kind == "int" else None,
        description=text[0].upper() + text[1:] + "." + rule,
        examples=[example] if example is not None else None,
        json_schema_extra=schema or None,
    )


EXTRA_FIELD = Field(
    default=None,
    max_length=200,
    description="Extra numeric or embedding (list of floats) columns, as an import file's extra columns: kept, "
    "and used as features when the model was trained with them. Capacity columns: a creator's `weekly_capacity`, "
    "a product's `sample_stock` and `sample_cost`. A PUT replaces the whole entity, extras included.",
)


class MerchantFields(BaseModel):
    name: str = column("merchants", "name", "Acme Beauty")
    joined_at: datetime = column("merchants", "joined_at", "2026-11-01T00:00:00Z")
    experience_score: float = column("merchants", "experience_score", 82.5)
    good_review_rate: float = column("merchants", "good_review_rate", 0.93)
    violations_90d: int = column("merchants", "violations_90d", 0)
    alliance_closures: int = column("merchants", "alliance_closures", 0)
    region: str = column("merchants", "region", "east")
    extra: dict[str, ExtraValue] | None = EXTRA_FIELD


class ProductFields(BaseModel):
    merchant_id: str = column("products", "merchant_id", "m00003")
    title: str = column("products", "title", "hydrating serum 30ml")
    category: str = column("products", "category", "beauty")
    price: float = column("products", "price", 129.0)
    rating: float = column("products", "rating", 4.8)
    service_score: float = column("products", "service_score", 4.7)
    listed_at: datetime = column("products", "listed_at", "2026-11-30T00:00:00Z")
    target_female: float | None = column("products", "target_female", 0.8)
    target_male: float | None = column("products", "target_male", 0.2)
    target_age_18_23: float | None = column("products", "target_age_18_23")
    target_age_24_30: float | None = column("products", "target_age_24_30")
    target_age_31_40: float | None = column("products", "target_age_31_40")
    target_age_41_50: float | None = column("products", "target_age_41_50")
    target_age_50_plus: float | None = column("products", "target_age_50_plus")
    target_tier_1: float | None = column("products", "target_tier_1")
    target_tier_2: float | None = column("products", "target_tier_2")
    target_tier_3: float | None = column("products", "target_tier_3")
    target_tier_4_plus: float | None = column("products", "target_tier_4_plus")
    extra: dict[str, ExtraValue] | None = EXTRA_FIELD


class CreatorFields(BaseModel):
    name: str = column("creators", "name", "Lily's studio")
    followers: int = column("creators", "followers", 48000)
    region: str = column("creators", "region", "east")
    categories: list[str] = column("creators", "categories", ["beauty", "fashion"])
    joined_at: datetime = column("creators", "joined_at", "2026-11-20T00:00:00Z")
    real_name_verified: bool = column("creators", "real_name_verified", True)
    showcase_enabled: bool = column("creators", "showcase_enabled", True)
    deposit_paid: bool = column("creators", "deposit_paid", True)
    aud_female: float = column("creators", "aud_female", 0.7)
    aud_male: float = column("creators", "aud_male", 0.3)
    aud_age_18_23: float = column("creators", "aud_age_18_23", 0.3)
    aud_age_24_30: float = column("creators", "aud_age_24_30", 0.4)
    aud_age_31_40: float = column("creators", "aud_age_31_40", 0.2)
    aud_age_41_50: float = column("creators", "aud_age_41_50", 0.07)
    aud_age_50_plus: float = column("creators", "aud_age_50_plus", 0.03)
    aud_tier_1: float = column("creators", "aud_tier_1", 0.3)
    aud_tier_2: float = column("creators", "aud_tier_2", 0.3)
    aud_tier_3: float = column("creators", "aud_tier_3", 0.25)
    aud_tier_4_plus: float = column("creators", "aud_tier_4_plus", 0.15)
    avg_views: float = column("creators", "avg_views", 12000.0)
    like_rate: float = column("creators", "like_rate", 0.05)
    comment_rate: float = column("creators", "comment_rate", 0.006)
    share_rate: float = column("creators", "share_rate", 0.004)
    completion_rate: float = column("creators", "completion_rate", 0.35)
    extra: dict[str, ExtraValue] | None = EXTRA_FIELD


_MERCHANT_EXAMPLE = {
    "name": "Acme Beauty",
    "joined_at": "2026-11-01T00:00:00Z",
    "experience_score": 82.5,
    "good_review_rate": 0.93,
    "violations_90d": 0,
    "alliance_closures": 0,
    "region": "east",
}
_PRODUCT_EXAMPLE = {
    "merchant_id": "m00003",
    "title": "hydrating serum 30ml",
    "category": "beauty",
    "price": 129.0,
    "rating": 4.8,
    "service_score": 4.7,
    "listed_at": "2026-11-30T00:00:00Z",
    "extra": {"sample_stock": 20},
}
_CREATOR_EXAMPLE = {
    "name": "Lily's studio",
    "followers": 48000,
    "region": "east",
    "categories": ["beauty", "fashion"],
    "joined_at": "2026-11-20T00:00:00Z",
    "real_name_verified": True,
    "showcase_enabled": True,
    "deposit_paid": True,
    "aud_female": 0.7,
    "aud_male": 0.3,
    "aud_age_18_23": 0.3,
    "aud_age_24_30": 0.4,
    "aud_age_31_40": 0.2,
    "aud_age_41_50": 0.07,
    "aud_age_50_plus": 0.03,
    "aud_tier_1": 0.3,
    "aud_tier_2": 0.3,
    "aud_tier_3": 0.25,
    "aud_tier_4_plus": 0.15,
    "avg_views": 12000.0,
    "like_rate": 0.05,
    "comment_rate": 0.006,
    "share_rate": 0.004,
    "completion_rate": 0.35,
}
_NOTICE = Field(
    default=None,
    description="Set when the entity is stored but cannot be recommended before the next training (e.g. a "
    "product category the model has never seen).",
)


class MerchantPut(MerchantFields, InputModel):
    """A merchant as an import row (without its id, which is in the path)."""

    model_config = examples(_MERCHANT_EXAMPLE)


class ProductPut(ProductFields, InputModel):
    """A product as an import row (without its id). Target shares: all of a group or none."""

    model_config = examples(_PRODUCT_EXAMPLE)


class CreatorPut(CreatorFields, InputModel):
    """A creator as an import row (without its id). Each audience share group sums to 1."""

    model_config = examples(_CREATOR_EXAMPLE)


class MerchantPublic(MerchantFields, PublicModel):
    """The merchant as stored."""

    merchant_id: str
    notice: str | None = _NOTICE
    model_config = examples({"merchant_id": "m-acme", **_MERCHANT_EXAMPLE})


class ProductPublic(ProductFields, PublicModel):
    """The product as stored (times in UTC)."""

    product_id: str
    notice: str | None = _NOTICE
    model_config = examples({"product_id": "p-serum-30", **_PRODUCT_EXAMPLE})


class CreatorPublic(CreatorFields, PublicModel):
    """The creator as stored (times in UTC)."""

    creator_id: str
    notice: str | None = _NOTICE
    model_config = examples({"creator_id": "c-lily", **_CREATOR_EXAMPLE})
