"""Admission of merchants and creators, and a plan's requirements on a creator — scalar and vectorized.

Merchant status ladder (the first reason decides the status; only ``admitted`` merchants' products are
recommended). Defaults; the full table is in ``docs/rules.md``:

- ``merchant_closures_permanent_ban`` -> banned: alliance_closures >= 3
- ``merchant_experience_score_closure`` -> closed: score < 3.5/5 (60/100)
- ``merchant_experience_score_warning`` -> warning: score < 3.8/5 (65/100)
- ``merchant_serious_violation_90d`` -> not_admitted: violations_90d > 0
- ``merchant_experience_score_below_threshold`` -> not_admitted: score < 4.0/5 (70/100)
- ``merchant_good_review_rate_too_low`` -> not_admitted: good_review_rate <= 0.80
- no reason -> admitted

Merchants who joined less than ``merchant_new_days`` (60) days before ``now`` are exempt from the experience
score (all three score rules); the other rules still apply.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from recsys.core.config import RulesSettings
from recsys.core.rules._columns import bool_array, days_ns, now_ns, require_timestamp, times_ns
from recsys.core.rules.inputs import CreatorProfile, MerchantProfile, PlanTerms
from recsys.core.rules.reasons import NO_REASON, Decision, reason_index

MERCHANT_STATUSES: tuple[str, ...] = ("admitted", "warning", "closed", "banned", "not_admitted", "unknown")
_STATUS_OF_REASON: dict[str, str] = {
    "merchant_unknown": "unknown",
    "merchant_closures_permanent_ban": "banned",
    "merchant_experience_score_closure": "closed",
    "merchant_experience_score_warning": "warning",
}
MERCHANT_CODES: tuple[str, ...] = (
    "merchant_closures_permanent_ban",
    "merchant_experience_score_closure",
    "merchant_experience_score_warning",
    "merchant_serious_violation_90d",
    "merchant_experience_score_below_threshold",
    "merchant_good_review_rate_too_low",
)
CREATOR_CODES: tuple[str, ...] = (
    "creator_not_real_name_verified",
    "creator_showcase_disabled",
    "creator_deposit_unpaid",
)


def experience_thresholds(settings: RulesSettings) -> tuple[float, float, float]:
    """(admission minimum, warning level, closure level) on the configured ``experience_scale``."""
    if settings.experience_scale == 5:
        return settings.experience_min_5, settings.experience_warning_5, settings.experience_closure_5
    return settings.experience_min_100, settings.experience_warning_100, settings.experience_closure_100


def status_of(decision: Decision) -> str:
    """Merchant status named by a merchant decision's first reason."""
    if decision.ok:
        return "admitted"
    return _STATUS_OF_REASON.get(decision.reasons[0], "not_admitted")


@dataclass(frozen=True)
class MerchantAdmission:
    merchant_id: str
    status: str  # one of MERCHANT_STATUSES
    decision: Decision
    experience_exempt: bool  # younger than merchant_new_days

    @property
    def ok(self) -> bool:
        return self.decision.ok

    @property
    def reasons(self) -> tuple[str, ...]:
        return self.decision.reasons


def merchant_admission(
    merchant: MerchantProfile, now: datetime | pd.Timestamp, settings: RulesSettings
) -> MerchantAdmission:
    """Whether ``merchant`` is admitted to the alliance at ``now``, its status and the reasons."""
    now_ts = require_timestamp(now, "now", "now")
    reasons: list[str] = []
    if merchant.alliance_closures >= settings.alliance_closures_max:
        reasons.append("merchant_closures_permanent_ban")
    if merchant.violations_90d > settings.serious_violations_max:
        reasons.append("merchant_serious_violation_90d")
    if not merchant.good_review_rate > settings.good_review_rate_min:
        reasons.append("merchant_good_review_rate_too_low")
    exempt = merchant.joined_at is not None and (now_ts - merchant.joined_at) < pd.Timedelta(
        days_ns(settings.merchant_new_days), unit="ns"
    )
    if not exempt:
        minimum, warning, closure = experience_thresholds(settings)
        score = merchant.experience_score
        if not score >= minimum:
            if score < closure:
                reasons.append("merchant_experience_score_closure")
            elif score < warning:
                reasons.append("merchant_experience_score_warning")
            else:
                reasons.append("merchant_experience_score_below_threshold")
    decision = Decision.from_reasons(reasons)
    return MerchantAdmission(merchant.merchant_id, status_of(decision), decision, exempt)


def merchant_reason_flags(merchants: pd.DataFrame, now: datetime | pd.Timestamp, settings: RulesSettings) -> np.ndarray:
    """Boolean matrix (n_merchants, len(MERCHANT_CODES)): which merchant reasons apply to each row."""
    n = len(merchants)
    closures = merchants["alliance_closures"].to_numpy(dtype=np.float64)
    violations = merchants["violations_90d"].to_numpy(dtype=np.float64)
    review = merchants["good_review_rate"].to_numpy(dtype=np.float64)
    score = merchants["experience_score"].to_numpy(dtype=np.float64)
    joined = times_ns(merchants["joined_at"], "merchants", "joined_at", required=False)
    has_joined = joined != np.iinfo(np.int64).max
    age = now_ns(now) - np.where(has_joined, joined, 0)
    exempt = has_joined & (age < days_ns(settings.merchant_new_days))
    minimum, warning, closure = experience_thresholds(settings)
    below_min = ~exempt & ~(score >= minimum)
    is_closure = below_min & (score < closure)
    is_warning = below_min & ~is_closure & (score < warning)
    flags = np.zeros((n, len(MERCHANT_CODES)), dtype=bool)
    flags[:, 0] = closures >= settings.alliance_closures_max
    flags[:, 1] = is_closure
    flags[:, 2] = is_warning
    flags[:, 3] = violations > settings.serious_violations_max
    flags[:, 4] = below_min & ~is_closure & ~is_warning
    flags[:, 5] = ~(review > settings.good_review_rate_min)
    return flags


def _first_codes(flags: np.ndarray, codes: tuple[str, ...]) -> np.ndarray:
    index = np.array([reason_index(c) for c in codes], dtype=np.int16)
    first = np.full(len(flags), NO_REASON, dtype=np.int16)
    any_flag = flags.any(axis=1)
    first[any_flag] = index[flags[any_flag].argmax(axis=1)]
    return first


def merchant_reason_codes(merchants: pd.DataFrame, now: datetime | pd.Timestamp, settings: RulesSettings) -> np.ndarray:
    """Per merchant row, the index (in ``REASON_CODES``) of its first refusal reason; ``NO_REASON`` if ok."""
    return _first_codes(merchant_reason_flags(merchants, now, settings), MERCHANT_CODES)


def merchant_admission_frame(
    merchants: pd.DataFrame, now: datetime | pd.Timestamp, settings: RulesSettings
) -> pd.DataFrame:
    """One row per merchant: ``merchant_id, status, admitted, reasons`` (tuple of codes), for dashboards."""
    flags = merchant_reason_flags(merchants, now, settings)
    reasons = [tuple(c for c, f in zip(MERCHANT_CODES, row, strict=True) if f) for row in flags]
    decisions = [Decision.from_reasons(r) for r in reasons]
    return pd.DataFrame(
        {
            "merchant_id": merchants["merchant_id"].astype(str).to_numpy(),
            "status": [status_of(d) for d in decisions],
            "admitted": [d.ok for d in decisions],
            "reasons": [d.reasons for d in decisions],
        }
    )


def admitted_product_mask(
    products: pd.DataFrame, merchants: pd.DataFrame, now: datetime | pd.Timestamp, settings: RulesSettings
) -> np.ndarray:
    """Bool per product row: its merchant is known and admitted at ``now`` (others are never recommended)."""
    admitted = merchant_reason_codes(merchants, now, settings) == NO_REASON
    rows = pd.Index(merchants["merchant_id"].astype(str)).get_indexer(pd.Index(products["merchant_id"].astype(str)))
    return (rows >= 0) & admitted[np.maximum(rows, 0)]


def creator_admission(creator: CreatorProfile, settings: RulesSettings) -> Decision:
    """Whether ``creator`` may join plans at all (real name, showcase, deposit — each switchable)."""
    reasons: list[str] = []
    if settings.require_real_name and not creator.real_name_verified:
        reasons.append("creator_not_real_name_verified")
    if settings.require_showcase and not creator.showcase_enabled:
        reasons.append("creator_showcase_disabled")
    if settings.require_deposit and not creator.deposit_paid:
        reasons.append("creator_deposit_unpaid")
    return Decision.from_reasons(reasons)


def creator_reason_codes(creators: pd.DataFrame, settings: RulesSettings) -> np.ndarray:
    """Per creator row, the index of its first admission refusal reason; ``NO_REASON`` if admitted."""
    n = len(creators)
    flags = np.zeros((n, len(CREATOR_CODES)), dtype=bool)
    for j, (column, required) in enumerate(
        (
            ("real_name_verified", settings.require_real_name),
            ("showcase_enabled", settings.require_showcase),
            ("deposit_paid", settings.require_deposit),
        )
    ):
        if required:
            flags[:, j] = ~bool_array(creators[column], "creators", column)
    return _first_codes(flags, CREATOR_CODES)


def plan_requirement_reasons(plan: PlanTerms, creator: CreatorProfile) -> tuple[str, ...]:
    """A plan's requirements the creator misses: min_followers, allowed_categories (any), allowed_regions."""
    reasons: list[str] = []
    if creator.followers < plan.min_followers:
        reasons.append("plan_min_followers_not_met")
    if plan.allowed_categories and not (plan.allowed_categories & creator.categories):
        reasons.append("plan_category_not_allowed")
    if plan.allowed_regions and creator.region not in plan.allowed_regions:
        reasons.append("plan_region_not_allowed")
    return tuple(reasons)
