"""Validation of a plan's terms (POST /v1/plans) and of an update to a plan (PATCH /v1/plans/{id}).

Both return a list of reason codes (empty = valid), in priority order. :func:`terms_reasons` is the subset
that plan resolution checks on stored plans: a plan whose commission terms break these rules is never joinable
(``plan_terms_invalid``), so a stored plan with an out-of-range rate can never reach a creator.
"""

from __future__ import annotations

import itertools
from datetime import datetime

import pandas as pd

from recsys.core.config import RulesSettings
from recsys.core.rules._columns import require_timestamp
from recsys.core.rules.commission import effective_rate, tier_schedule_points
from recsys.core.rules.inputs import PlanTerms
from recsys.core.rules.reasons import sort_reasons
from recsys.core.schema import LISTED_PLAN_TYPES, PLAN_TYPES, TIER_BASES
from recsys.core.vocab import PlanType


def _in_bounds(rate: float, settings: RulesSettings) -> bool:
    return settings.commission_min <= rate <= settings.commission_max  # False for NaN


def terms_reasons(plan: PlanTerms, settings: RulesSettings) -> list[str]:
    """Problems with ``plan``'s commission terms: type, rate bounds, tier order, tier basis."""
    reasons: list[str] = []
    if plan.plan_type not in PLAN_TYPES:
        reasons.append("plan_type_unknown")
    if not _in_bounds(plan.commission_rate, settings):
        reasons.append("plan_commission_out_of_bounds")
    if plan.plan_type == PlanType.TIERED:
        if plan.tier_basis not in TIER_BASES:
            reasons.append("plan_tier_basis_unknown")
        if not all(_in_bounds(rate, settings) for _, rate in plan.tiers):
            reasons.append("plan_tier_rate_out_of_bounds")
        thresholds = [m for m, _ in plan.tiers]
        if plan.tiers and not (thresholds[0] >= 0 and all(b > a for a, b in itertools.pairwise(thresholds))):
            reasons.append("plan_tiers_not_increasing")
        rates = [plan.commission_rate, *(r for _, r in plan.tiers)]
        if not all(b >= a for a, b in itertools.pairwise(rates)):
            reasons.append("plan_tier_rates_decreasing")
    return reasons


def validate_plan(plan: PlanTerms, settings: RulesSettings) -> list[str]:
    """Every rule a new plan must satisfy; an empty list means the plan is valid.

    Checks: known plan type; base and tier rates within [commission_min, commission_max]; tiered plans
    have monotone tiers (thresholds >= 0 strictly increasing, rates non-decreasing from the base rate) and a
    known tier basis; only tiered plans have tiers; exclusive/targeted plans list their creators and
    open/tiered ones do not; the plan ends after it starts; budget, spent and min_followers are >= 0.
    """
    reasons = terms_reasons(plan, settings)
    if plan.plan_type == PlanType.TIERED and not plan.tiers:
        reasons.append("plan_tiers_missing")
    if plan.plan_type != PlanType.TIERED and plan.tiers:
        reasons.append("plan_tiers_not_allowed")
    if plan.plan_type in LISTED_PLAN_TYPES and not plan.creator_ids:
        reasons.append("plan_listed_creators_missing")
    if plan.plan_type not in LISTED_PLAN_TYPES and plan.creator_ids:
        reasons.append("plan_listed_creators_forbidden")
    if plan.ends_at is not None and not plan.ends_at > plan.starts_at:
        reasons.append("plan_window_invalid")
    if (plan.budget is not None and not plan.budget >= 0) or not plan.budget_spent >= 0:
        reasons.append("plan_budget_invalid")
    if plan.min_followers < 0:
        reasons.append("plan_min_followers_invalid")
    return list(sort_reasons(reasons))


def is_launched(plan: PlanTerms, now: datetime | pd.Timestamp) -> bool:
    """A plan is launched once its start time has passed (``starts_at <= now``)."""
    return plan.starts_at <= require_timestamp(now, "now", "now")


def validate_plan_update(
    old: PlanTerms, new: PlanTerms, now: datetime | pd.Timestamp, settings: RulesSettings
) -> list[str]:
    """Rules for replacing ``old`` by ``new`` at ``now``; an empty list means the update is allowed.

    ``new`` must be a valid plan with the same id and product. Once launched, the plan keeps its type, start
    and tier basis, and its commission may only rise: the base rate, and the rate at every cumulative amount
    (each tier's rate, with thresholds compared as a schedule, so moving a threshold up is a decrease).
    """
    reasons = validate_plan(new, settings)
    if new.plan_id != old.plan_id:
        reasons.append("plan_id_changed")
    if new.product_id != old.product_id:
        reasons.append("plan_product_changed")
    if is_launched(old, now):
        if new.plan_type != old.plan_type:
            reasons.append("plan_type_changed_after_launch")
        if new.starts_at != old.starts_at:
            reasons.append("plan_start_changed_after_launch")
        if old.plan_type == PlanType.TIERED and new.plan_type == PlanType.TIERED and new.tier_basis != old.tier_basis:
            reasons.append("plan_tier_basis_changed_after_launch")
        if not new.commission_rate >= old.commission_rate:
            reasons.append("plan_rate_decreased_after_launch")
        if PlanType.TIERED in (old.plan_type, new.plan_type):
            points = sorted({*tier_schedule_points(old), *tier_schedule_points(new)})
            if any(not effective_rate(new, amount) >= effective_rate(old, amount) for amount in points):
                reasons.append("plan_tier_rate_decreased_after_launch")
    return list(sort_reasons(reasons))
