"""A/B experiments, pure parts: sticky hashed assignment, definition validation, setting overrides, arm statistics."""

from __future__ import annotations

import numpy as np
import pytest

from recsys.core.config import Settings
from recsys.core.experiment_stats import ArmData, compare, summarize
from recsys.core.experiments import (
    ArmSpec,
    DefinitionProblem,
    ExperimentEndpoint,
    apply_overrides,
    assign_arm,
    validate_definition,
)

POOLS = [ExperimentEndpoint.CREATOR_PRODUCTS]


def _spec(name: str, *weights: float):  # type: ignore[no-untyped-def]
    arms = [ArmSpec(f"arm{i}", w) for i, w in enumerate(weights)]
    return validate_definition(name, arms, POOLS, Settings())


def _share(spec, callers: list[str], arm: str) -> float:  # type: ignore[no-untyped-def]
    return sum(assign_arm(spec, c).name == arm for c in callers) / len(callers)


def test_two_thousand_callers_split_fifty_fifty_within_three_points() -> None:
    callers = [f"c{i:05d}" for i in range(2000)]
    for name in ("blend-test", "decay-test", "bundle-2026-07"):
        assert abs(_share(_spec(name, 0.5, 0.5), callers, "arm0") - 0.5) <= 0.03


def test_uneven_split_follows_the_weights() -> None:
    callers = [f"m{i:05d}" for i in range(20_000)]
    spec = _spec("uneven", 0.2, 0.3, 0.5)
    shares = [_share(spec, callers, f"arm{i}") for i in range(3)]
    assert shares == pytest.approx([0.2, 0.3, 0.5], abs=0.015)


def test_assignment_is_sticky_and_independent_across_experiments() -> None:
    callers = [f"c{i:05d}" for i in range(4000)]
    first, second = _spec("first", 0.5, 0.5), _spec("second", 0.5, 0.5)
    a = [assign_arm(first, c).name for c in callers]
    assert a == [assign_arm(first, c).name for c in callers]  # same caller, same arm, every time
    b = [assign_arm(second, c).name for c in callers]
    both = sum(x == "arm0" and y == "arm0" for x, y in zip(a, b, strict=True)) / len(callers)
    assert both == pytest.approx(0.25, abs=0.03)  # independent: a quarter in arm0 of both


@pytest.mark.parametrize(
    ("arms", "loc"),
    [
        ([ArmSpec("a", 0.5), ArmSpec("b", 0.6)], ("arms",)),
        (
            [ArmSpec("a", 0.5), ArmSpec("b", 0.5, settings={"matching.nope": 1.0})],
            ("arms", 1, "settings", "matching.nope"),
        ),
        (
            [ArmSpec("a", 0.5), ArmSpec("b", 0.5, settings={"rules.earnings_blend": 1.5})],
            ("arms", 1, "settings", "rules.earnings_blend"),
        ),
        (
            [ArmSpec("a", 0.5), ArmSpec("b", 0.5, settings={"matching.retrieval_blend": 11.0})],
            ("arms", 1, "settings", "matching.retrieval_blend"),
        ),
        ([ArmSpec("a", 0.5), ArmSpec("a", 0.5)], ("arms", 1, "name")),
        ([ArmSpec("a", 0.5), ArmSpec("b", 0.5, bundle="../elsewhere")], ("arms", 1, "bundle")),
        ([ArmSpec("a", 1.0)], ("arms",)),
        ([ArmSpec("a", 0.0), ArmSpec("b", 1.0)], ("arms", 0, "weight")),
    ],
)
def test_a_bad_definition_names_the_field(arms: list[ArmSpec], loc: tuple[object, ...]) -> None:
    with pytest.raises(DefinitionProblem) as info:
        validate_definition("exp", arms, POOLS, Settings())
    assert info.value.loc == loc


def test_a_definition_needs_an_endpoint_and_a_plain_name() -> None:
    arms = [ArmSpec("a", 0.5), ArmSpec("b", 0.5)]
    with pytest.raises(DefinitionProblem) as info:
        validate_definition("exp", arms, [], Settings())
    assert info.value.loc == ("endpoints",)
    with pytest.raises(DefinitionProblem) as info:
        validate_definition("a/b", arms, POOLS, Settings())
    assert info.value.loc == ("name",)


def test_overrides_change_only_the_named_settings() -> None:
    base = Settings()
    arm = apply_overrides(
        base, {"rules.earnings_blend": 0.7, "matching.exposure_decay": 0.0, "matching.retrieval_blend": 0.0}
    )
    assert (arm.rules.earnings_blend, arm.matching.exposure_decay, arm.matching.retrieval_blend) == (0.7, 0.0, 0.0)
    assert arm.rules.after_sale_days == base.rules.after_sale_days
    assert arm.matching.new_creator_boost == base.matching.new_creator_boost


def _arm(name: str, exposures: int, amounts: list[float], rate: float = 0.2) -> ArmData:
    gmv = np.array(amounts, np.float64)
    return ArmData(name, requests=exposures // 10, exposures=exposures, order_gmv=gmv, order_commission=gmv * rate)


def test_arm_summary_matches_a_hand_worked_example() -> None:
    summary = summarize(_arm("a", 100, [100.0] * 10))
    assert summary.conversion.value == pytest.approx(0.10)
    assert (summary.conversion.low, summary.conversion.high) == pytest.approx((0.0552, 0.1744), abs=5e-4)  # Wilson
    assert summary.gmv_per_exposure.value == pytest.approx(10.0)  # 1,000 yuan over 100 exposures
    assert summary.commission_per_exposure.value == pytest.approx(2.0)
    assert summary.gmv_per_exposure.low < 10.0 < summary.gmv_per_exposure.high


def test_a_real_difference_excludes_zero_and_equal_arms_include_it() -> None:
    rng = np.random.default_rng(11)
    base = _arm("control", 5000, list(rng.uniform(50, 150, 100)))  # 2% conversion
    better = _arm("treatment", 5000, list(rng.uniform(50, 150, 200)))  # 4% conversion
    same = _arm("same", 5000, list(rng.uniform(50, 150, 100)))
    up = compare(better, base)
    assert up.conversion.low > 0 and up.gmv_per_exposure.low > 0 and up.commission_per_exposure.low > 0
    flat = compare(same, base)
    assert flat.conversion.low < 0 < flat.conversion.high
    assert flat.gmv_per_exposure.low < 0 < flat.gmv_per_exposure.high


def test_an_arm_without_exposures_has_no_figures() -> None:
    summary = summarize(_arm("empty", 0, []))
    assert np.isnan(summary.conversion.value) and np.isnan(summary.gmv_per_exposure.value)
