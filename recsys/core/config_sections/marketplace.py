"""Marketplace policy: plan and admission rules, matching the marketplace as a whole, and integrity."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from recsys.core.config_sections._base import Section


class RulesSettings(Section):
    """Plan, admission, commission and settlement rules (platform defaults; see ``docs/rules.md``)."""

    commission_min: float = Field(0.01, ge=0, le=1, description="Lowest commission rate a plan may offer.")
    commission_max: float = Field(0.80, ge=0, le=1, description="Highest commission rate a plan may offer.")
    merchant_new_days: int = Field(
        60, ge=0, description="Merchants younger than this are exempt from the experience score."
    )
    experience_scale: Literal[100, 5] = Field(100, description="Scale of merchants.experience_score: 0–100 or 0–5.")
    experience_min_100: float = Field(70.0, ge=0, le=100, description="Admission bar, 0–100 scale (>=).")
    experience_min_5: float = Field(4.0, ge=0, le=5, description="Admission threshold, 0–5 scale (>=).")
    experience_warning_5: float = Field(3.8, ge=0, le=5, description="Warning below this (0–5 scale).")
    experience_closure_5: float = Field(3.5, ge=0, le=5, description="Access closed below this (0–5).")
    experience_warning_100: float = Field(
        65.0, ge=0, le=100, description="Warning below this (0–100 scale; our equivalent of 3.8/5)."
    )
    experience_closure_100: float = Field(
        60.0, ge=0, le=100, description="Alliance access closed below this (0–100; our equivalent of 3.5/5)."
    )
    good_review_rate_min: float = Field(0.80, ge=0, le=1, description="Good-review rate must be strictly above this.")
    serious_violations_max: int = Field(0, ge=0, description="Serious violations allowed in 90 days.")
    alliance_closures_max: int = Field(3, ge=1, description="This many alliance closures is a permanent ban.")
    require_real_name: bool = Field(True, description="Creators must be real-name verified to join a plan.")
    require_showcase: bool = Field(True, description="Creators must have their product showcase enabled.")
    require_deposit: bool = Field(True, description="Creators must have paid the deposit.")
    after_sale_days: int = Field(
        15, ge=7, le=15, description="After-sale window (days) before a commission is settleable."
    )
    withdrawal_min_balance: float = Field(100.0, ge=0, description="Settled balance needed to withdraw.")
    sample_cost_share: float = Field(
        0.5,
        ge=0,
        le=5,
        description="A sample's cost to the merchant as a share of the product's price (goods at cost), when the "
        "product states no sample_cost.",
    )
    sample_shipping: float = Field(
        8.0, ge=0, description="Shipping per sample (yuan), added when the product states no sample_cost."
    )
    stop_loss_min_views: int = Field(
        10_000, ge=0, description="Views needed before stop-loss may flag a collaboration."
    )
    stop_loss_gpm_ratio: float = Field(0.3, gt=0, le=1, description="Flag when realized GPM < ratio x predicted GPM.")
    earnings_blend: float = Field(
        0.3, ge=0, le=1, description="Weight of expected earnings (vs. fit) when ranking a creator's pool."
    )

    @model_validator(mode="after")
    def _experience_thresholds_ordered(self) -> RulesSettings:
        for scale, closure, warning, minimum in (
            (5, self.experience_closure_5, self.experience_warning_5, self.experience_min_5),
            (100, self.experience_closure_100, self.experience_warning_100, self.experience_min_100),
        ):
            if not closure <= warning <= minimum:
                raise ValueError(
                    f"rules: experience thresholds on the 0–{scale} scale need closure <= warning <= min, "
                    f"got {closure}, {warning}, {minimum}"
                )
        return self


class MatchingSettings(Section):
    """Matching the marketplace, not one query: new partners, capacity and exposure (see docs/matching.md)."""

    include_existing: bool = Field(
        False, description="Lists show existing collaborations (labelled) unless a request says otherwise."
    )
    capacity_nano: int = Field(3, ge=0, description="Default weekly new collaborations of a nano creator.")
    capacity_micro: int = Field(4, ge=0, description="Default weekly new collaborations of a micro creator.")
    capacity_mid: int = Field(5, ge=0, description="Default weekly new collaborations of a mid-tier creator.")
    capacity_macro: int = Field(8, ge=0, description="Default weekly new collaborations of a macro creator.")
    capacity_mega: int = Field(12, ge=0, description="Default weekly new collaborations of a mega creator.")
    capacity_days: int = Field(7, ge=1, description="Period a creator's capacity covers (its current load).")
    allocation: bool = Field(
        False,
        description="Solve the global allocation at load and reload; lists subtract its capacity prices (off: in "
        "the market simulation its prices still cost GMV, see docs/matching.md).",
    )
    allocation_activity: float = Field(
        1.0,
        gt=0,
        le=1,
        description="Share of products expected to recruit in a period: the allocation sees creator capacities "
        "divided by it, so its prices reflect the competition a period really has (1 = every product at once).",
    )
    allocation_products_per_creator: int = Field(
        50, ge=1, description="Edges per creator in the allocation graph (its best retrieved products)."
    )
    allocation_creators_per_product: int = Field(
        20, ge=1, description="Edges per product in the allocation graph (its best retrieved creators)."
    )
    allocation_max_edges: int = Field(
        3_000_000, ge=1000, description="Cap on allocation graph edges (per-entity edges shrink to fit)."
    )
    exposure_decay: float = Field(
        0.5, ge=0, description="Creators in many lists this period: value x (1 + lists / mean)^-decay (0 = off)."
    )
    capacity_room: float = Field(
        1.0, ge=0, description="Creators with less capacity left: value x max(left / capacity, 0.05)^this (0 = off)."
    )
    retrieval_blend: float = Field(
        0.5,
        ge=0,
        le=10,
        description="Lists: value x exp(blend x z), z the pair's retrieval score standardised over every "
        "candidate of its query (all creators for a product, all products for a creator; 0 = off).",
    )
    exposure_depth: int = Field(
        200, ge=1, description="A creator is 'in' a product's list when retrieval ranks it this high for it."
    )
    exposure_sample: int = Field(
        10_000,
        ge=100,
        description="Products whose lists are searched to count exposure; more products than this are sampled "
        "(seeded) and the counts scaled up, so start-up stays short at 1M products.",
    )
    full_creators: Literal["keep", "hide", "displace"] = Field(
        "keep",
        description="Creators with no capacity left after their pending invitations, in creator lists (for a "
        "product, for a shop): 'keep' (sunk by capacity_room), 'hide' (left out), 'displace' (no room penalty for "
        "an offer whose expected earnings beat the weakest pending one within their room, sunk otherwise; the market "
        "simulation only: the service refuses it).",
    )
    pending_invites: float = Field(
        1.0,
        ge=0,
        description="Each invitation a creator has not answered yet takes this much of its capacity left (0 = off).",
    )
    new_creator_boost: float = Field(
        0.3, ge=0, description="New and small creators (no sales history, nano or micro): value x (1 + boost)."
    )
    category_diversity: float = Field(
        0.15, ge=0, lt=1, description="A creator's pool: each earlier item of the same category x (1 - this)."
    )

    @classmethod
    def per_query(cls) -> MatchingSettings:
        """The matcher as it was before marketplace matching: existing partners shown, no prices, no exposure
        controls (a baseline in experiments)."""
        return cls(
            include_existing=True,
            allocation=False,
            exposure_decay=0.0,
            new_creator_boost=0.0,
            category_diversity=0.0,
            capacity_room=0.0,
            pending_invites=0.0,
        )

    def capacity_by_tier(self) -> dict[str, int]:
        """Default weekly capacity per fan tier (used where a creator has no ``weekly_capacity``)."""
        return {
            "nano": self.capacity_nano,
            "micro": self.capacity_micro,
            "mid": self.capacity_mid,
            "macro": self.capacity_macro,
            "mega": self.capacity_mega,
        }


class IntegritySettings(Section):
    """Marketplace integrity: creators whose followers or views look bought (see docs/integrity.md)."""

    fake_contamination: float = Field(
        0.05,
        ge=0,
        lt=0.5,
        description="Share of creators the fake-engagement detector flags at training: the expected share who "
        "bought followers or views (0 = flag nobody).",
    )
    fake_penalty: float = Field(
        0.05,
        ge=0,
        le=1,
        description="A flagged creator's list value x this (0 = to the bottom of every list, 1 = no penalty).",
    )
