"""Reason codes and the :class:`Decision` every rule returns.

:data:`REASONS` maps each code to a plain-English sentence, in *priority order*: when a decision has several
reasons they are sorted by this order, so ``reasons[0]`` is the most important one (merchant problems first,
then creator admission, then plan-level problems). The vectorized :class:`~recsys.core.rules.planbook.PlanBook`
reports one reason per refused pair as an index into :data:`REASON_CODES`; it is always the first reason the
scalar functions give for the same pair.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

REASONS: dict[str, str] = {
    # --- merchant admission (product level) -----------------------------------------------------------------
    "merchant_unknown": "The product's merchant is not in the marketplace.",
    "merchant_closures_permanent_ban": (
        "The merchant's alliance access has been closed too many times and is permanently banned."
    ),
    "merchant_experience_score_closure": (
        "The merchant's experience score is below the closure level; its alliance access is closed."
    ),
    "merchant_experience_score_warning": (
        "The merchant's experience score is below the warning level (and below the admission threshold)."
    ),
    "merchant_serious_violation_90d": "The merchant had a serious violation in the last 90 days.",
    "merchant_experience_score_below_threshold": ("The merchant's experience score is below the admission threshold."),
    "merchant_good_review_rate_too_low": ("The merchant's good-review rate over 30 days is not above the minimum."),
    # --- creator admission ----------------------------------------------------------------------------------
    "creator_not_real_name_verified": "The creator has not completed real-name verification.",
    "creator_showcase_disabled": "The creator's product showcase is not enabled.",
    "creator_deposit_unpaid": "The creator has not paid the deposit.",
    # --- plan resolution for a (creator, product) -----------------------------------------------------------
    "plan_not_offered_to_creator": "No promotion plan for this product is offered to this creator.",
    "plan_terms_invalid": "The plan's commission terms are outside the platform's limits.",
    "plan_not_started": "The plan has not started yet.",
    "plan_ended": "The plan has ended.",
    "plan_budget_spent": "The plan's commission budget is spent.",
    "plan_min_followers_not_met": "The creator has fewer followers than the plan requires.",
    "plan_category_not_allowed": "None of the creator's content categories is allowed by the plan.",
    "plan_region_not_allowed": "The creator's region is not allowed by the plan.",
    # --- plan validation (POST / PATCH of a plan) -----------------------------------------------------------
    "plan_type_unknown": "The plan type is not one of open, exclusive, targeted, tiered.",
    "plan_commission_out_of_bounds": "The commission rate is outside the platform's allowed range.",
    "plan_tier_rate_out_of_bounds": "A tier's commission rate is outside the platform's allowed range.",
    "plan_tiers_missing": "A tiered plan needs at least one tier.",
    "plan_tiers_not_allowed": "Only tiered plans may have tiers.",
    "plan_tiers_not_increasing": "Tier thresholds must be non-negative and strictly increasing.",
    "plan_tier_rates_decreasing": ("Tier rates must not fall: each at least the previous tier's (and the base) rate."),
    "plan_tier_basis_unknown": "The tier basis must be units or gmv.",
    "plan_listed_creators_missing": ("Exclusive and targeted plans must list the creators they are offered to."),
    "plan_listed_creators_forbidden": ("Open and tiered plans are offered to everyone and must not list creators."),
    "plan_window_invalid": "The plan must end after it starts.",
    "plan_budget_invalid": "The budget and the budget spent must not be negative.",
    "plan_min_followers_invalid": "The minimum follower count must not be negative.",
    "plan_listed_creator_unknown": "A listed creator is not in the marketplace.",
    "plan_id_changed": "A plan update must keep the plan id.",
    "plan_product_changed": "A plan update must keep the product.",
    "plan_type_changed_after_launch": "The plan type cannot change after the plan has started.",
    "plan_tier_basis_changed_after_launch": "The tier basis cannot change after the plan has started.",
    "plan_start_changed_after_launch": "The start time cannot change after the plan has started.",
    "plan_rate_decreased_after_launch": "After launch the base commission rate may only rise.",
    "plan_tier_rate_decreased_after_launch": ("After launch the commission at every sales level may only rise."),
    # --- settlement -----------------------------------------------------------------------------------------
    "order_refunded": "The order was refunded; it pays no commission.",
    "order_not_confirmed": "The order has not been confirmed yet.",
    "order_in_after_sale_window": "The order is still inside the after-sale window.",
    "withdrawal_balance_below_minimum": "The settled balance is below the minimum needed to withdraw.",
    "order_already_refunded": "The order was refunded; its state cannot change any more.",
    "order_already_settled": "The order was settled (paid to the creator); it cannot be refunded or changed.",
    "order_status_backwards": "An order's state only moves forward (placed, confirmed, then refunded or settled).",
    # --- stop-loss ------------------------------------------------------------------------------------------
    "stop_loss_gpm_below_prediction": "Realized GPM is far below the predicted GPM after enough views.",
    "stop_loss_insufficient_views": "Not enough views yet to judge the collaboration.",
    "stop_loss_no_prediction": "There is no positive predicted GPM to compare with.",
}
"""Reason code -> plain-English sentence, in priority order."""

REASON_CODES: tuple[str, ...] = tuple(REASONS)
"""The codes in priority order; vectorized results hold indices into this tuple (-1 = no reason)."""

REASON_INDEX: dict[str, int] = {code: i for i, code in enumerate(REASON_CODES)}
NO_REASON = len(REASON_CODES)
"""Sentinel larger than every reason index (used internally as "passes")."""


def reason_index(code: str) -> int:
    """Index of ``code`` in :data:`REASON_CODES`."""
    try:
        return REASON_INDEX[code]
    except KeyError:
        raise KeyError(f"unknown reason code {code!r}; it must be registered in recsys.core.rules.REASONS") from None


def sort_reasons(codes: Iterable[str]) -> tuple[str, ...]:
    """Distinct ``codes`` in priority order (unknown codes raise ``KeyError``)."""
    return tuple(sorted(set(codes), key=reason_index))


def explain(code: str) -> str:
    """The sentence for a reason code."""
    reason_index(code)
    return REASONS[code]


@dataclass(frozen=True)
class Decision:
    """The outcome of a rule: ``ok`` and the reasons (codes of :data:`REASONS`, priority order).

    A refusal always carries at least one reason; an acceptance carries none.
    """

    ok: bool
    reasons: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        ordered = sort_reasons(self.reasons)  # validates every code
        object.__setattr__(self, "reasons", ordered)
        if not self.ok and not ordered:
            raise ValueError("a refusal must carry at least one reason")
        if self.ok and ordered:
            raise ValueError(f"an accepted decision carries no reasons, got {ordered}")

    @classmethod
    def accept(cls) -> Decision:
        return cls(True, ())

    @classmethod
    def refuse(cls, *codes: str) -> Decision:
        return cls(False, tuple(codes))

    @classmethod
    def from_reasons(cls, codes: Iterable[str]) -> Decision:
        """Accepted when ``codes`` is empty, refused with them otherwise."""
        reasons = tuple(codes)
        return cls(not reasons, reasons)

    def __bool__(self) -> bool:
        return self.ok

    def messages(self) -> list[str]:
        return [REASONS[c] for c in self.reasons]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for API responses."""
        return {"ok": self.ok, "reasons": [{"code": c, "message": REASONS[c]} for c in self.reasons]}
