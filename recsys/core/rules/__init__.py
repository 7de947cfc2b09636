"""Plan and commission rules: pure functions, thresholds from ``RulesSettings``, every decision with reasons.

- :mod:`~recsys.core.rules.reasons` — ``REASONS`` (code -> sentence, priority order) and ``Decision``
- :mod:`~recsys.core.rules.inputs` — ``PlanTerms``, ``CreatorProfile``, ``MerchantProfile``, ``ProductProfile``
- :mod:`~recsys.core.rules.eligibility` — merchant and creator admission, plan requirements (scalar + vectorized)
- :mod:`~recsys.core.rules.plans` — plan visibility and resolution (precedence exclusive > targeted > public)
- :mod:`~recsys.core.rules.commission` — tiered rates, expected commission, merchant ROI, fit/earnings blend
- :mod:`~recsys.core.rules.validation` — ``validate_plan`` / ``validate_plan_update`` for the plans API
- :mod:`~recsys.core.rules.settlement` — settlement status, creator statements, withdrawal
- :mod:`~recsys.core.rules.stoploss` — stop-loss flags on realized vs predicted GPM
- :mod:`~recsys.core.rules.planbook` — ``PlanBook``, the vectorized fast path for the matcher

The rule tables (defaults, precedence, reason codes) are in ``docs/rules.md``.
"""

from recsys.core.rules._plan_arrays import PlanArrays
from recsys.core.rules.commission import (
    blend_fit_and_earnings,
    effective_rate,
    expected_commission,
    merchant_roi,
    merchant_roi_array,
    normalise_unit,
)
from recsys.core.rules.eligibility import (
    MERCHANT_STATUSES,
    MerchantAdmission,
    admitted_product_mask,
    creator_admission,
    creator_reason_codes,
    experience_thresholds,
    merchant_admission,
    merchant_admission_frame,
    merchant_reason_codes,
    plan_requirement_reasons,
)
from recsys.core.rules.inputs import CreatorProfile, MerchantProfile, PlanTerms, ProductProfile
from recsys.core.rules.planbook import PairResolution, PlanBook
from recsys.core.rules.plans import (
    PRECEDENCE,
    PlanResolution,
    budget_reasons,
    is_visible,
    plan_refusal_reasons,
    resolve_plans,
    visible_plans,
    window_reasons,
)
from recsys.core.rules.reasons import NO_REASON, REASON_CODES, REASONS, Decision, explain, reason_index
from recsys.core.rules.settlement import (
    SETTLEMENT_STATUSES,
    CreatorStatement,
    OrderSettlement,
    attach_commission,
    can_withdraw,
    creator_statement,
    order_settlement,
    settlement_status,
)
from recsys.core.rules.stoploss import StopLossCheck, gpm, stop_loss_check, stop_loss_flags
from recsys.core.rules.validation import is_launched, terms_reasons, validate_plan, validate_plan_update

__all__ = [
    "MERCHANT_STATUSES",
    "NO_REASON",
    "PRECEDENCE",
    "REASONS",
    "REASON_CODES",
    "SETTLEMENT_STATUSES",
    "CreatorProfile",
    "CreatorStatement",
    "Decision",
    "MerchantAdmission",
    "MerchantProfile",
    "OrderSettlement",
    "PairResolution",
    "PlanArrays",
    "PlanBook",
    "PlanResolution",
    "PlanTerms",
    "ProductProfile",
    "StopLossCheck",
    "admitted_product_mask",
    "attach_commission",
    "blend_fit_and_earnings",
    "budget_reasons",
    "can_withdraw",
    "creator_admission",
    "creator_reason_codes",
    "creator_statement",
    "effective_rate",
    "expected_commission",
    "experience_thresholds",
    "explain",
    "gpm",
    "is_launched",
    "is_visible",
    "merchant_admission",
    "merchant_admission_frame",
    "merchant_reason_codes",
    "merchant_roi",
    "merchant_roi_array",
    "normalise_unit",
    "order_settlement",
    "plan_refusal_reasons",
    "plan_requirement_reasons",
    "reason_index",
    "resolve_plans",
    "settlement_status",
    "stop_loss_check",
    "stop_loss_flags",
    "terms_reasons",
    "validate_plan",
    "validate_plan_update",
    "visible_plans",
    "window_reasons",
]
