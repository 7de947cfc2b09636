"""validate_plan and validate_plan_update (the plans API): each rule accepted and rejected."""

from __future__ import annotations

from dataclasses import replace

import pytest

from recsys.core.config import RulesSettings
from recsys.core.rules import PlanTerms, validate_plan, validate_plan_update
from tests.core.rules._market import DAY, NOW

RULES = RulesSettings()
OPEN = PlanTerms("pl", "p", "open", 0.1, NOW - DAY)
TIERED = PlanTerms("pl", "p", "tiered", 0.05, NOW - DAY, tiers=((100.0, 0.08), (500.0, 0.12)))
EXCLUSIVE = PlanTerms("pl", "p", "exclusive", 0.2, NOW - DAY, creator_ids=frozenset({"alice"}))


@pytest.mark.parametrize(
    ("plan", "reasons"),
    [
        (OPEN, []),
        (TIERED, []),
        (EXCLUSIVE, []),
        (replace(OPEN, plan_type="vip"), ["plan_type_unknown"]),
        (replace(OPEN, commission_rate=0.005), ["plan_commission_out_of_bounds"]),
        (replace(OPEN, commission_rate=0.81), ["plan_commission_out_of_bounds"]),
        (replace(TIERED, tiers=((100.0, 0.9),)), ["plan_tier_rate_out_of_bounds"]),
        (replace(TIERED, tiers=((100.0, 0.08), (100.0, 0.12))), ["plan_tiers_not_increasing"]),
        (replace(TIERED, tiers=((-1.0, 0.08),)), ["plan_tiers_not_increasing"]),
        (replace(TIERED, tiers=((100.0, 0.12), (500.0, 0.08))), ["plan_tier_rates_decreasing"]),
        (replace(TIERED, tiers=((100.0, 0.04),)), ["plan_tier_rates_decreasing"]),  # below the base rate
        (replace(TIERED, tiers=()), ["plan_tiers_missing"]),
        (replace(TIERED, tier_basis="orders"), ["plan_tier_basis_unknown"]),
        (replace(OPEN, tiers=((1.0, 0.2),)), ["plan_tiers_not_allowed"]),
        (replace(EXCLUSIVE, creator_ids=frozenset()), ["plan_listed_creators_missing"]),
        (replace(OPEN, creator_ids=frozenset({"alice"})), ["plan_listed_creators_forbidden"]),
        (replace(OPEN, ends_at=OPEN.starts_at), ["plan_window_invalid"]),
        (replace(OPEN, budget=-1.0), ["plan_budget_invalid"]),
        (replace(OPEN, min_followers=-5), ["plan_min_followers_invalid"]),
    ],
)
def test_validate_plan(plan: PlanTerms, reasons: list[str]) -> None:
    assert validate_plan(plan, RULES) == reasons


@pytest.mark.parametrize(
    ("old", "new", "reasons"),
    [
        (OPEN, replace(OPEN, commission_rate=0.12), []),
        (OPEN, replace(OPEN, commission_rate=0.08), ["plan_rate_decreased_after_launch"]),
        (TIERED, replace(TIERED, tiers=((100.0, 0.09), (500.0, 0.12))), []),
        (TIERED, replace(TIERED, tiers=((50.0, 0.08), (500.0, 0.12))), []),  # earlier threshold = a raise
        (
            TIERED,
            replace(TIERED, tiers=((150.0, 0.08), (500.0, 0.12))),
            ["plan_tier_rate_decreased_after_launch"],
        ),
        (TIERED, replace(TIERED, tiers=((100.0, 0.08),)), ["plan_tier_rate_decreased_after_launch"]),
        (
            TIERED,
            replace(TIERED, tiers=((100.0, 0.08), (500.0, 0.11))),
            ["plan_tier_rate_decreased_after_launch"],
        ),
        (TIERED, replace(TIERED, tier_basis="gmv"), ["plan_tier_basis_changed_after_launch"]),
        (OPEN, replace(OPEN, plan_type="tiered", tiers=((0.0, 0.2),)), ["plan_type_changed_after_launch"]),
        (OPEN, replace(OPEN, starts_at=NOW + DAY), ["plan_start_changed_after_launch"]),
        (OPEN, replace(OPEN, plan_id="other"), ["plan_id_changed"]),
        (OPEN, replace(OPEN, product_id="other"), ["plan_product_changed"]),
    ],
)
def test_validate_plan_update_after_launch(old: PlanTerms, new: PlanTerms, reasons: list[str]) -> None:
    assert validate_plan_update(old, new, NOW, RULES) == reasons


def test_before_launch_a_plan_may_change_freely_but_must_stay_valid() -> None:
    future = replace(TIERED, starts_at=NOW + DAY)
    lower = replace(future, commission_rate=0.02, tiers=((200.0, 0.03),), tier_basis="gmv")
    assert validate_plan_update(future, lower, NOW, RULES) == []
    broken = replace(future, tiers=((200.0, 0.01),))
    assert validate_plan_update(future, broken, NOW, RULES) == ["plan_tier_rates_decreasing"]
