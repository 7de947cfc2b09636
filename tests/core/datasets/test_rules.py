"""Every validation rule has a failing example; the good rows around the bad one are all kept."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from recsys.core.config import Settings
from recsys.core.datasets.validate import ValidationResult, validate_tables
from tests.core.datasets.sample import as_text, marketplace, with_row, with_rows


def _nothing_in_store(_table: str, _ids: set[str]) -> set[str]:
    return set()


# (table, changes to a copy of the table's first row, fragment the reason must contain)
CASES: list[tuple[str, dict[str, object], str]] = [
    ("merchants", {"merchant_id": ""}, "merchant_id: required value is missing or empty"),
    ("merchants", {"name": "   "}, "name: required value is missing or empty"),
    ("merchants", {"experience_score": "high"}, "experience_score: 'high' is not a finite number"),
    ("merchants", {"experience_score": "120"}, "experience_score: 120 is above maximum 100"),
    ("merchants", {"good_review_rate": "1.5"}, "good_review_rate: 1.5 is above maximum 1"),
    ("merchants", {"violations_90d": "-5"}, "violations_90d: -5 is below minimum 0"),
    ("merchants", {"alliance_closures": "1.5"}, "alliance_closures: '1.5' is not an integer"),
    ("merchants", {"joined_at": "yesterday"}, "joined_at: 'yesterday' is not an ISO 8601 datetime"),
    ("merchants", {"gmv_30d": "lots"}, "gmv_30d: 'lots' is not a finite number"),
    ("products", {"price": "0"}, "price: 0 must be above 0"),
    ("products", {"rating": "5.5"}, "rating: 5.5 is above maximum 5"),
    ("products", {"merchant_id": "m99"}, "merchant_id: references unknown merchant 'm99'"),
    (
        "products",
        {"target_male": ""},
        "target_female+target_male: incomplete share group (missing target_male)",
    ),
    ("products", {"target_female": "0.9"}, "target_female+target_male: shares sum to 1.20, must be 1 ± 0.01"),
    ("products", {"embedding": "[0.1, 0.2]"}, "embedding: 2 values, expected 3 like the other rows"),
    ("products", {"embedding": '["a", 1]'}, """embedding: '["a", 1]' is not a list of finite numbers"""),
    ("creators", {"aud_female": "0.9"}, "aud_female+aud_male: shares sum to 1.30, must be 1 ± 0.01"),
    ("creators", {"aud_age_18_23": "0.5"}, "aud_age_18_23+aud_age_24_30+aud_age_31_40+aud_age_41_50+"),
    ("creators", {"aud_tier_1": ""}, "aud_tier_1: required value is missing or empty"),
    ("creators", {"real_name_verified": "maybe"}, "real_name_verified: 'maybe' is not a boolean"),
    ("creators", {"categories": "beauty"}, "categories: 'beauty' is not a JSON array of strings"),
    ("creators", {"categories": "[]"}, "categories: empty list, at least one value is required"),
    ("creators", {"followers": "-1"}, "followers: -1 is below minimum 0"),
    ("creators", {"like_rate": "1.01"}, "like_rate: 1.01 is above maximum 1"),
    (
        "plans",
        {"plan_type": "premium"},
        "plan_type: 'premium' is not one of open, exclusive, targeted, tiered",
    ),
    ("plans", {"commission_rate": "0.9"}, "commission_rate: 0.9 is outside the policy bounds [0.01, 0.8]"),
    ("plans", {"plan_type": "exclusive"}, "creator_ids: exclusive plans must list at least one creator"),
    (
        "plans",
        {"plan_type": "targeted", "creator_ids": '["c1", "c77"]'},
        "creator_ids: references unknown creator(s) 'c77'",
    ),
    ("plans", {"creator_ids": '["c1"]'}, "creator_ids: open plans must not list creators (got 1)"),
    ("plans", {"plan_type": "tiered"}, "tiers: tiered plans need [[min_units, rate], ...]"),
    (
        "plans",
        {"plan_type": "tiered", "tiers": "[[0, 0.1], [0, 0.2]]"},
        "tiers: min_units must strictly increase (0 then 0)",
    ),
    (
        "plans",
        {"plan_type": "tiered", "tiers": "[[0, 0.2], [10, 0.1]]"},
        "tiers: rates must not decrease (0.2 then 0.1)",
    ),
    ("plans", {"plan_type": "tiered", "tiers": "[[-1, 0.1]]"}, "tiers: first min_units -1 is below 0"),
    (
        "plans",
        {"plan_type": "tiered", "tiers": "[[0, 0.1], [10, 0.95]]"},
        "tiers: rate 0.95 of tier 2 is outside the policy bounds [0.01, 0.8]",
    ),
    (
        "plans",
        {"plan_type": "tiered", "tiers": "[[0]]"},
        "tiers: '[[0]]' is not a list of [min_units, rate] pairs",
    ),
    ("plans", {"tiers": "[[0, 0.1]]"}, "tiers: only tiered plans have tiers (open plan has 1)"),
    (
        "plans",
        {"ends_at": "2023-06-01"},
        "ends_at: 2023-06-01T00:00:00 is not after starts_at 2024-01-01T00:00:00",
    ),
    ("plans", {"tier_basis": "pieces"}, "tier_basis: 'pieces' is not one of units, gmv"),
    ("plans", {"min_followers": "-10"}, "min_followers: -10 is below minimum 0"),
    ("plans", {"product_id": "p99"}, "product_id: references unknown product 'p99'"),
    ("promotions", {"views": "10"}, "clicks: 100 exceeds views 10 (must be orders <= clicks <= views)"),
    ("promotions", {"orders": "500"}, "orders: 500 exceeds clicks 100 (must be orders <= clicks <= views)"),
    ("promotions", {"refunds": "9"}, "refunds: 9 exceeds orders 3"),
    ("promotions", {"likes": "-5"}, "likes: -5 is below minimum 0"),
    ("promotions", {"views": "many"}, "views: 'many' is not an integer"),
    ("promotions", {"format": "story"}, "format: 'story' is not one of video, live, post"),
    ("promotions", {"completion_rate": "1.2"}, "completion_rate: 1.2 is above maximum 1"),
    ("promotions", {"plan_id": "pl3"}, "plan_id: plan 'pl3' is for product 'p3', not 'p2'"),
    ("promotions", {"creator_id": "c404"}, "creator_id: references unknown creator 'c404'"),
    ("promotions", {"plan_id": "pl404"}, "plan_id: references unknown plan 'pl404'"),
    (
        "orders",
        {"status": "confirmed", "confirmed_at": ""},
        "confirmed_at: required when status is confirmed",
    ),
    ("orders", {"status": "settled", "confirmed_at": ""}, "confirmed_at: required when status is settled"),
    ("orders", {"status": "refunded", "refunded_at": ""}, "refunded_at: required when status is refunded"),
    (
        "orders",
        {"status": "refunded", "refunded_at": "2024-01-01"},
        "refunded_at: 2024-01-01T00:00:00 is before created_at 2024-03-01T09:30:00",
    ),
    (
        "orders",
        {"confirmed_at": "2024-02-29T23:59:59"},
        "confirmed_at: 2024-02-29T23:59:59 is before created_at",
    ),
    ("orders", {"status": "lost"}, "status: 'lost' is not one of placed, confirmed, refunded, settled"),
    ("orders", {"amount": "-3"}, "amount: -3 must be above 0"),
    ("orders", {"promotion_id": "pr404"}, "promotion_id: references unknown promotion 'pr404'"),
]


def _validate(tables: dict[str, pd.DataFrame], directory: Path) -> ValidationResult:
    return validate_tables(as_text(tables, directory), Settings(), _nothing_in_store)


@pytest.fixture(scope="module")
def injected(tmp_path_factory: pytest.TempPathFactory) -> tuple[ValidationResult, list[int]]:
    """The sample with one bad row per case (fresh ids: nothing depends on them), validated once."""
    tables, source_rows = with_rows(marketplace(), [(table, changes) for table, changes, _ in CASES])
    return _validate(tables, tmp_path_factory.mktemp("injected")), source_rows


@pytest.mark.parametrize("case", range(len(CASES)), ids=[f"{t}:{f[:40]}" for t, _, f in CASES])
def test_each_rule_quarantines_its_bad_row(injected: tuple[ValidationResult, list[int]], case: int) -> None:
    result, source_rows = injected
    table, _, fragment = CASES[case]
    bad = result.quarantined[table].set_index("source_row")
    assert fragment in bad.loc[source_rows[case], "reason"]


def test_only_the_bad_rows_are_quarantined_and_every_good_row_is_kept(
    injected: tuple[ValidationResult, list[int]], sample: dict[str, pd.DataFrame]
) -> None:
    result, source_rows = injected
    for name, frame in sample.items():
        expected = sorted(row for (table, _, _), row in zip(CASES, source_rows, strict=True) if table == name)
        assert sorted(result.quarantined[name]["source_row"]) == expected
        assert len(result.good[name]) == len(frame)


def _assert_only_the_new_row_is_bad(result: ValidationResult, sample: dict[str, pd.DataFrame], table: str) -> str:
    for name, frame in sample.items():
        bad = result.quarantined[name]
        if name == table:
            assert list(bad["source_row"]) == [len(frame) + 1]
        else:
            assert bad.empty, bad[["source_row", "reason"]].to_string()
        assert len(result.good[name]) == len(frame)  # every good row is kept
    return str(result.quarantined[table]["reason"].iloc[0])


def test_the_sample_is_valid_in_both_formats(sample: dict[str, pd.DataFrame], tmp_path: Path) -> None:
    result = _validate(sample, tmp_path)
    assert result.n_quarantined == 0
    assert {name: len(frame) for name, frame in result.good.items()} == {n: len(f) for n, f in sample.items()}


def test_several_reasons_are_joined(sample: dict[str, pd.DataFrame], tmp_path: Path) -> None:
    result = _validate(with_row(sample, "promotions", views="-1", format="", creator_id="c404"), tmp_path)
    reason = _assert_only_the_new_row_is_bad(result, sample, "promotions")
    assert reason.split("; ") == [
        "format: required value is missing or empty",
        "views: -1 is below minimum 0",
        "creator_id: references unknown creator 'c404'",
    ]


def test_conflicting_ids_quarantine_every_row_and_their_dependents(
    sample: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    result = _validate(with_row(sample, "merchants", merchant_id="m1", name="Impostor"), tmp_path)
    bad = result.quarantined["merchants"]
    assert list(bad["source_row"]) == [1, 4]
    assert list(bad["reason"]) == [
        "merchant_id: 'm1' is also used by row(s) 4 with different content",
        "merchant_id: 'm1' is also used by row(s) 1 with different content",
    ]
    dependents = result.quarantined["products"]
    assert set(dependents["merchant_id"]) == {"m1"} and len(dependents) == 1
    assert dependents["reason"].iloc[0] == "merchant_id: references merchant 'm1', which is quarantined in this import"
    assert set(result.good["merchants"]["merchant_id"]) == {"m2", "m3"}


def test_exact_duplicates_keep_the_first_row(sample: dict[str, pd.DataFrame], tmp_path: Path) -> None:
    tables = dict(sample)
    tables["orders"] = pd.concat([sample["orders"], sample["orders"].iloc[[2]]], ignore_index=True)
    result = _validate(tables, tmp_path)
    assert list(result.quarantined["orders"]["reason"]) == ["order_id: 'o3' is an exact duplicate of row 3"]
    assert list(result.good["orders"]["order_id"]) == [f"o{i}" for i in range(1, 9)]
    assert result.quarantined["promotions"].empty


def test_plans_naming_a_quarantined_creator_are_bad(sample: dict[str, pd.DataFrame], tmp_path: Path) -> None:
    tables = dict(sample)
    creators = sample["creators"].copy()
    creators.loc[0, "followers"] = -1  # c1 is quarantined; plan pl2 lists it, promotions of pl2 follow
    tables["creators"] = creators
    result = _validate(tables, tmp_path)
    plans = result.quarantined["plans"]
    assert list(plans["plan_id"]) == ["pl2"]
    assert plans["reason"].iloc[0] == "creator_ids: references creator(s) 'c1', quarantined in this import"
    assert set(result.quarantined["promotions"]["plan_id"]) >= {"pl2"}


def test_non_numeric_extras_are_ignored_with_a_warning(sample: dict[str, pd.DataFrame], tmp_path: Path) -> None:
    tables = dict(sample)
    tables["orders"] = sample["orders"].assign(channel="app")
    result = _validate(tables, tmp_path)
    assert result.n_quarantined == 0
    assert "creators: extra column 'bio' is not numeric; ignored" in " | ".join(result.warnings)
    assert "orders: extra column 'channel' is not part of the schema; ignored" in result.warnings
    assert "bio" not in result.good["creators"] and "channel" not in result.good["orders"]
    assert result.good["merchants"]["gmv_30d"].tolist() == [1e4, 2e4, 3e4]
    assert result.good["products"]["embedding"].iloc[1] == [0.2, 0.2, -0.3]
