"""Plan resolution for a (creator, product) at a time: visible plans, joinable plans and the effective one.

Visibility (a security property): open and tiered plans are public; an exclusive or targeted plan is visible
only to the creators it lists. Everything here looks at a creator's plans *after* the listed plans not
offered to them have been dropped, so no result, reason or error can depend on such a plan: for that creator
the product looks exactly as if the plan did not exist ("no plan" reads ``plan_not_offered_to_creator``
whether the product has no plan at all or only plans for others).

Joinable: visible, commission terms valid, started and not ended, budget left, and the plan's requirements met
(min_followers, any allowed category, allowed region) — and the creator and the product's merchant admitted.

Effective plan, among the joinable ones (precedence table):

======  ===================================  ========================================================
rank    plan type                            tie-break
======  ===================================  ========================================================
1       exclusive (listed creators only)     highest rate, then first in the plans frame
2       targeted (listed creators only)      highest rate, then first in the plans frame
3       open / tiered (everyone admitted)    highest effective rate, then open before tiered, then
                                             first in the plans frame
======  ===================================  ========================================================

A tiered plan's effective rate is projected from the creator's predicted units (or GMV = units x price) on top
of the cumulative amount so far (see :mod:`recsys.core.rules.commission`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from recsys.core.config import RulesSettings
from recsys.core.rules._columns import require_timestamp
from recsys.core.rules.commission import effective_rate
from recsys.core.rules.eligibility import creator_admission, merchant_admission, plan_requirement_reasons
from recsys.core.rules.inputs import CreatorProfile, MerchantProfile, PlanTerms, ProductProfile
from recsys.core.rules.reasons import Decision
from recsys.core.rules.validation import terms_reasons
from recsys.core.schema import LISTED_PLAN_TYPES, PUBLIC_PLAN_TYPES
from recsys.core.vocab import PlanType

PRECEDENCE: dict[str, int] = {PlanType.EXCLUSIVE: 0, PlanType.TARGETED: 1, PlanType.OPEN: 2, PlanType.TIERED: 2}


def is_visible(plan: PlanTerms, creator_id: str) -> bool:
    """Public plans are visible to every creator; listed plans only to the creators they list."""
    if plan.plan_type in PUBLIC_PLAN_TYPES:
        return True
    return plan.plan_type in LISTED_PLAN_TYPES and creator_id in plan.creator_ids


def visible_plans(creator_id: str, plans: Sequence[PlanTerms]) -> list[PlanTerms]:
    """The plans ``creator_id`` may know about, in their given order."""
    return [p for p in plans if is_visible(p, creator_id)]


def window_reasons(plan: PlanTerms, now: datetime | pd.Timestamp) -> tuple[str, ...]:
    """``plan_not_started`` before ``starts_at``; ``plan_ended`` from ``ends_at`` on (empty = open-ended)."""
    now_ts = require_timestamp(now, "now", "now")
    if now_ts < plan.starts_at:
        return ("plan_not_started",)
    if plan.ends_at is not None and now_ts >= plan.ends_at:
        return ("plan_ended",)
    return ()


def budget_reasons(plan: PlanTerms) -> tuple[str, ...]:
    """``plan_budget_spent`` once the commission spent reaches the budget (no budget = unlimited)."""
    if plan.budget is not None and plan.budget_spent >= plan.budget:
        return ("plan_budget_spent",)
    return ()


def plan_refusal_reasons(
    plan: PlanTerms, creator: CreatorProfile, now: datetime | pd.Timestamp, settings: RulesSettings
) -> tuple[str, ...]:
    """Why a *visible* plan cannot be joined by ``creator`` now (empty = joinable as far as the plan goes)."""
    reasons: list[str] = []
    if terms_reasons(plan, settings):
        reasons.append("plan_terms_invalid")
    reasons.extend(window_reasons(plan, now))
    reasons.extend(budget_reasons(plan))
    reasons.extend(plan_requirement_reasons(plan, creator))
    return tuple(reasons)


def plan_amounts(plan: PlanTerms, units: float, unit_price: float) -> float:
    """An amount of ``units`` in ``plan``'s tier basis (GMV basis: units x unit price)."""
    return units * unit_price if plan.tier_basis == "gmv" else units


@dataclass(frozen=True)
class PlanResolution:
    """The outcome of :func:`resolve_plans`. Only plans visible to the creator appear here."""

    creator_id: str
    product_id: str
    visible: tuple[PlanTerms, ...]
    joinable: tuple[PlanTerms, ...]
    effective: PlanTerms | None
    effective_rate: float | None
    decision: Decision

    @property
    def eligible(self) -> bool:
        return self.decision.ok

    @property
    def reasons(self) -> tuple[str, ...]:
        return self.decision.reasons


def resolve_plans(
    creator: CreatorProfile,
    product: ProductProfile,
    merchant: MerchantProfile | None,
    plans: Sequence[PlanTerms],
    now: datetime | pd.Timestamp,
    settings: RulesSettings,
    *,
    predicted_units: float = 0.0,
    cumulative_units: float = 0.0,
) -> PlanResolution:
    """Resolve ``creator``'s plans on ``product`` at ``now``.

    ``plans`` may hold plans of other products (ignored); their order is the tie-break order. ``merchant`` is
    the product's merchant, ``None`` if unknown (then nothing is joinable: ``merchant_unknown``).
    """
    if merchant is not None and merchant.merchant_id != product.merchant_id:
        raise ValueError(
            f"product {product.product_id!r} belongs to merchant {product.merchant_id!r}, not {merchant.merchant_id!r}"
        )
    reasons: list[str] = []
    if merchant is None:
        reasons.append("merchant_unknown")
    else:
        reasons.extend(merchant_admission(merchant, now, settings).reasons)
    reasons.extend(creator_admission(creator, settings).reasons)

    visible = [p for p in plans if p.product_id == product.product_id and is_visible(p, creator.creator_id)]
    refusals = [plan_refusal_reasons(p, creator, now, settings) for p in visible]
    passing = [(i, p) for i, (p, r) in enumerate(zip(visible, refusals, strict=True)) if not r]
    if not visible:
        reasons.append("plan_not_offered_to_creator")
    elif not passing:
        reasons.extend(code for r in refusals for code in r)
    decision = Decision.from_reasons(reasons)
    if not decision.ok:
        return PlanResolution(creator.creator_id, product.product_id, tuple(visible), (), None, None, decision)

    rates = [
        effective_rate(
            p,
            plan_amounts(p, cumulative_units, product.price),
            plan_amounts(p, predicted_units, product.price),
        )
        for _, p in passing
    ]
    order = sorted(
        range(len(passing)),
        key=lambda k: (
            PRECEDENCE[passing[k][1].plan_type],
            -rates[k],
            passing[k][1].plan_type != PlanType.OPEN,
            passing[k][0],
        ),
    )
    best = order[0]
    return PlanResolution(
        creator.creator_id,
        product.product_id,
        tuple(visible),
        tuple(p for _, p in passing),
        passing[best][1],
        rates[best],
        decision,
    )
