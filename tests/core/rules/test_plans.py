"""Plan visibility, windows, budgets, precedence and resolution (scalar), on hand-written marketplaces."""

from __future__ import annotations

import pytest

from recsys.core.config import RulesSettings
from recsys.core.rules import (
    CreatorProfile,
    MerchantProfile,
    PlanTerms,
    ProductProfile,
    budget_reasons,
    is_visible,
    plan_refusal_reasons,
    resolve_plans,
    visible_plans,
    window_reasons,
)
from tests.core.rules._market import DAY, NOW, creator, merchant, plan, product

RULES = RulesSettings()
PRODUCT = ProductProfile.from_row(product())
MERCHANT = MerchantProfile.from_row(merchant())
ALICE = CreatorProfile.from_row(creator("alice"))
BOB = CreatorProfile.from_row(creator("bob"))


def _plans(*rows: dict) -> list[PlanTerms]:
    return [PlanTerms.from_row(r, i) for i, r in enumerate(rows)]


def _resolve(creator_: CreatorProfile, plans: list[PlanTerms], **kw) -> object:
    return resolve_plans(creator_, PRODUCT, MERCHANT, plans, NOW, RULES, **kw)


def test_listed_plans_are_visible_only_to_their_creators() -> None:
    plans = _plans(
        plan("open"),
        plan("tiered", plan_type="tiered", tiers=[[0, 0.1]]),
        plan("excl", plan_type="exclusive", creator_ids=["alice"]),
        plan("targ", plan_type="targeted", creator_ids=["alice"]),
    )
    assert [p.plan_id for p in visible_plans("alice", plans)] == ["open", "tiered", "excl", "targ"]
    assert [p.plan_id for p in visible_plans("bob", plans)] == ["open", "tiered"]
    assert not is_visible(PlanTerms.from_row(plan("x", plan_type="unheard_of")), "alice")


def test_window_and_budget() -> None:
    assert window_reasons(PlanTerms.from_row(plan(starts_at=NOW + DAY)), NOW) == ("plan_not_started",)
    assert window_reasons(PlanTerms.from_row(plan(starts_at=NOW)), NOW) == ()  # starts inclusive
    assert window_reasons(PlanTerms.from_row(plan(ends_at=NOW)), NOW) == ("plan_ended",)  # ends exclusive
    assert window_reasons(PlanTerms.from_row(plan(ends_at=NOW + DAY)), NOW) == ()
    assert budget_reasons(PlanTerms.from_row(plan(budget=100.0, budget_spent=100.0))) == ("plan_budget_spent",)
    assert budget_reasons(PlanTerms.from_row(plan(budget=100.0, budget_spent=99.0))) == ()
    assert budget_reasons(PlanTerms.from_row(plan(budget=None, budget_spent=1e9))) == ()


def test_a_plan_with_out_of_range_terms_is_never_joinable() -> None:
    too_rich = PlanTerms.from_row(plan(commission_rate=0.95))
    assert plan_refusal_reasons(too_rich, ALICE, NOW, RULES) == ("plan_terms_invalid",)
    r = _resolve(ALICE, [too_rich])
    assert not r.eligible and r.reasons == ("plan_terms_invalid",)


@pytest.mark.parametrize(
    ("rows", "alice", "bob"),
    [
        # exclusive beats targeted beats open for the listed creator, whatever the rates
        (
            [
                plan("o", commission_rate=0.5),
                plan("t", plan_type="targeted", creator_ids=["alice"], commission_rate=0.2),
                plan("e", plan_type="exclusive", creator_ids=["alice"], commission_rate=0.1),
            ],
            ("e", 0.1),
            ("o", 0.5),
        ),
        (
            [
                plan("o", commission_rate=0.5),
                plan("t", plan_type="targeted", creator_ids=["alice"], commission_rate=0.2),
            ],
            ("t", 0.2),
            ("o", 0.5),
        ),
        # among public plans the highest effective rate wins; a tie goes to open
        ([plan("o", commission_rate=0.1), plan("o2", commission_rate=0.3)], ("o2", 0.3), ("o2", 0.3)),
        (
            [
                plan("ti", plan_type="tiered", commission_rate=0.2, tiers=[[1000, 0.3]]),
                plan("o", commission_rate=0.2),
            ],
            ("o", 0.2),
            ("o", 0.2),
        ),
        # an exclusive plan the creator cannot join falls back to the next plan
        (
            [plan("e", plan_type="exclusive", creator_ids=["alice"], allowed_regions=["south"]), plan("o")],
            ("o", 0.1),
            ("o", 0.1),
        ),
    ],
)
def test_precedence(rows: list[dict], alice: tuple, bob: tuple) -> None:
    plans = _plans(*rows)
    for who, (plan_id, rate) in ((ALICE, alice), (BOB, bob)):
        r = _resolve(who, plans)
        assert r.eligible and (r.effective.plan_id, r.effective_rate) == (plan_id, rate)


def test_tiered_plan_wins_when_the_projected_rate_is_higher() -> None:
    plans = _plans(
        plan("o", commission_rate=0.15),
        plan("ti", plan_type="tiered", commission_rate=0.1, tiers=[[10, 0.3]]),
    )
    assert _resolve(ALICE, plans, predicted_units=5).effective.plan_id == "o"  # 0.10 on all 5 units
    r = _resolve(ALICE, plans, predicted_units=20)  # 10 x 0.10 + 10 x 0.30 -> 0.20
    assert (r.effective.plan_id, r.effective_rate) == ("ti", 0.2)
    r = _resolve(ALICE, plans, cumulative_units=10)  # nothing predicted: the rate of the next unit
    assert (r.effective.plan_id, r.effective_rate) == ("ti", 0.3)


def test_gmv_tiers_use_the_product_price() -> None:
    plans = _plans(plan("ti", plan_type="tiered", tier_basis="gmv", commission_rate=0.1, tiers=[[500, 0.2]]))
    assert _resolve(ALICE, plans, predicted_units=10).effective_rate == 0.1  # 10 x 50 = 500 GMV, all below 500
    assert _resolve(ALICE, plans, predicted_units=20).effective_rate == 0.15


def test_refusal_reasons_come_from_visible_plans_only() -> None:
    hidden = plan("secret", plan_type="exclusive", creator_ids=["alice"], commission_rate=0.3)
    regional = plan("open", allowed_regions=["south"])
    for plans in (_plans(hidden), _plans()):
        r = _resolve(BOB, plans)
        assert (r.eligible, r.reasons, r.visible) == (False, ("plan_not_offered_to_creator",), ())
    with_hidden, alone = _resolve(BOB, _plans(hidden, regional)), _resolve(BOB, _plans(regional))
    assert with_hidden == alone and with_hidden.reasons == ("plan_region_not_allowed",)
    assert _resolve(ALICE, _plans(hidden, regional)).effective.plan_id == "secret"


def test_merchant_and_creator_admission_gate_every_plan() -> None:
    plans = _plans(plan())
    banned = MerchantProfile.from_row(merchant(alliance_closures=3))
    r = resolve_plans(ALICE, PRODUCT, banned, plans, NOW, RULES)
    assert (r.eligible, r.reasons, r.effective) == (False, ("merchant_closures_permanent_ban",), None)
    assert resolve_plans(ALICE, PRODUCT, None, plans, NOW, RULES).reasons == ("merchant_unknown",)
    unverified = CreatorProfile.from_row(creator(real_name_verified=False))
    assert _resolve(unverified, plans).reasons == ("creator_not_real_name_verified",)
    with pytest.raises(ValueError, match="belongs to merchant 'm1'"):
        resolve_plans(ALICE, PRODUCT, MerchantProfile.from_row(merchant("m2")), plans, NOW, RULES)


def test_plans_of_other_products_are_ignored() -> None:
    r = _resolve(ALICE, _plans(plan("elsewhere", product_id="p9")))
    assert r.reasons == ("plan_not_offered_to_creator",)
