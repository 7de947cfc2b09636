"""Plans: separate models to create (POST), update (PATCH) and show (GET) a plan.

Bounds that the plan rules own (commission range, tier order, listed creators) are *not* enforced here, so a
refusal carries the rules' reason code (``plan_commission_out_of_bounds`` ...) instead of a generic type error. What
the schema does bound is what no rule can read: rates outside 0–1, money and follower counts beyond physical limits
(an integer beyond 64 bits reached SQLite as an OverflowError), and non-finite numbers (``InputModel``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from recsys.core.vocab import PlanType
from serving.schemas.common import MAX_FOLLOWERS, MAX_MONEY, InputModel, PublicModel, examples

TierBasis = Literal["units", "gmv"]
PLAN_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"


class Tier(InputModel):
    """From ``min_amount`` cumulative units (or GMV) in the plan period on, the plan pays ``rate``."""

    min_amount: float = Field(le=MAX_MONEY, examples=[100])
    rate: float = Field(ge=0, le=1, examples=[0.25])


class PlanCreate(InputModel):
    """A new plan for one of the merchant's products."""

    plan_id: str | None = Field(
        default=None, pattern=PLAN_ID_PATTERN, description="Your id for the plan; generated when omitted."
    )
    product_id: str = Field(min_length=1, max_length=200)
    plan_type: PlanType
    commission_rate: float = Field(ge=0, le=1, description="Base rate, within the platform's bounds (default 1%–80%).")
    creator_ids: list[str] = Field(
        default_factory=list,
        max_length=10_000,
        description="Exclusive and targeted plans: the creators it is offered to.",
    )
    tiers: list[Tier] = Field(default_factory=list, max_length=50, description="Tiered plans only; rates never fall.")
    tier_basis: TierBasis = "units"
    min_followers: int = Field(0, le=MAX_FOLLOWERS, description="Creators need at least this many followers.")
    allowed_categories: list[str] = Field(default_factory=list, max_length=100, description="Empty = any category.")
    allowed_regions: list[str] = Field(default_factory=list, max_length=100, description="Empty = any region.")
    starts_at: datetime | None = Field(default=None, description="Default: now. Times without a zone are UTC.")
    ends_at: datetime | None = Field(default=None, description="Empty = open-ended.")
    budget: float | None = Field(default=None, le=MAX_MONEY, description="Commission budget; empty = unlimited.")

    model_config = examples(
        {
            "product_id": "p00075",
            "plan_type": "targeted",
            "commission_rate": 0.25,
            "creator_ids": ["c00012"],
            "starts_at": "2026-07-01T00:00:00Z",
            "budget": 5000,
        },
        {
            "product_id": "p00075",
            "plan_type": "tiered",
            "commission_rate": 0.15,
            "tiers": [{"min_amount": 100, "rate": 0.2}, {"min_amount": 500, "rate": 0.25}],
        },
    )


class PlanUpdate(InputModel):
    """Fields to change; absent fields stay as they are. After launch the type, start and tier basis are fixed
    and commission may only rise."""

    plan_type: PlanType | None = None
    commission_rate: float | None = Field(default=None, ge=0, le=1)
    creator_ids: list[str] | None = Field(default=None, max_length=10_000)
    tiers: list[Tier] | None = Field(default=None, max_length=50)
    tier_basis: TierBasis | None = None
    min_followers: int | None = Field(default=None, le=MAX_FOLLOWERS)
    allowed_categories: list[str] | None = Field(default=None, max_length=100)
    allowed_regions: list[str] | None = Field(default=None, max_length=100)
    starts_at: datetime | None = None
    ends_at: datetime | None = Field(default=None, description="Set to end the plan; null makes it open-ended.")
    budget: float | None = Field(default=None, le=MAX_MONEY)

    model_config = examples(
        {"commission_rate": 0.3},
        {"ends_at": "2026-12-31T00:00:00Z"},
    )


class PlanPublic(PublicModel):
    """A plan as shown to its merchant and the admin; creators see the terms without ``creator_ids``, ``budget``
    and ``budget_spent`` (null)."""

    plan_id: str
    product_id: str
    merchant_id: str
    plan_type: PlanType
    commission_rate: float
    tiers: list[list[float]] = Field(description="[[min_amount, rate], ...] (tiered plans).")
    tier_basis: TierBasis
    min_followers: int
    allowed_categories: list[str]
    allowed_regions: list[str]
    starts_at: datetime
    ends_at: datetime | None
    status: Literal["scheduled", "active", "ended", "budget_spent"]
    creator_ids: list[str] | None = Field(default=None, description="Owner view only.")
    budget: float | None = Field(default=None, description="Owner view only.")
    budget_spent: float | None = Field(default=None, description="Owner view only.")

    model_config = examples(
        {
            "plan_id": "pl00084",
            "product_id": "p00075",
            "merchant_id": "m00003",
            "plan_type": "targeted",
            "commission_rate": 0.25,
            "tiers": [],
            "tier_basis": "units",
            "min_followers": 0,
            "allowed_categories": [],
            "allowed_regions": [],
            "starts_at": "2026-07-01T00:00:00Z",
            "ends_at": None,
            "status": "active",
            "creator_ids": ["c00012"],
            "budget": 5000.0,
            "budget_spent": 0.0,
        }
    )


class PlanList(PublicModel):
    merchant_id: str
    items: list[PlanPublic]

    model_config = examples({"merchant_id": "m00003", "items": []})
