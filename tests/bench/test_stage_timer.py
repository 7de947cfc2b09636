"""Stages timed by wrapping their functions: each call adds its clock time to its label; missing ones skipped."""

from __future__ import annotations

import sys
import types
from collections import defaultdict

import pytest

from bench.stage_timer import time_stages


@pytest.fixture
def module(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    mod = types.ModuleType("fake_stages")

    class Worker:
        def run(self, x: int) -> int:
            return mod.helper(x) + 1  # type: ignore[attr-defined]  # through the module, as callers do

    def helper(x: int) -> int:
        return 2 * x

    mod.Worker, mod.helper = Worker, helper  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fake_stages", mod)
    return mod


def test_each_call_adds_its_clock_time_to_its_label_and_missing_stages_are_skipped(module: types.ModuleType) -> None:
    ticks = iter(range(100))
    times: dict[str, float] = defaultdict(float)
    stages = [
        ("outer", "Worker", "fake_stages", "run"),
        ("inner", None, "fake_stages", "helper"),
        ("a class this tree lacks", "Gone", "fake_stages", "run"),
        ("an attribute it lacks", "Worker", "fake_stages", "gone"),
    ]
    assert time_stages(stages, times, clock=lambda: float(next(ticks))) == ["outer", "inner"]
    # Worker.run calls the module's helper through the module, where it is now wrapped too
    assert module.Worker().run(3) == 7
    # clock reads: run starts 0, helper starts 1, helper ends 2, run ends 3
    assert dict(times) == {"outer": 3.0, "inner": 1.0}
    assert module.Worker().run(1) == 3  # 4, 5, 6, 7
    assert dict(times) == {"outer": 6.0, "inner": 2.0}
