"""The soak benchmark's summaries (``bench/soak_summary.py``) on small hand-checked records."""

from __future__ import annotations

import math

import pytest

from bench.soak_summary import errors_outside, fault_cost, fault_spans, percentile, rss_growth, windows


def test_percentile_interpolates_like_numpy_and_is_nan_when_empty() -> None:
    assert percentile([4.0, 1.0, 3.0, 2.0], 50) == 2.5
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 99) == pytest.approx(4.96)
    assert math.isnan(percentile([], 99))


def test_windows_count_requests_errors_latency_and_rss_per_window() -> None:
    records = [(1.0, 10.0, 200), (2.0, 30.0, 200), (29.0, 0.0, "timeout"), (31.0, 5.0, 503), (45.0, 7.0, 201)]
    memory = [(0.0, {1: 100, 2: 50}), (20.0, {1: 120, 2: 50}), (40.0, {1: 90})]
    first, second = windows(records, memory, duration_s=60.0)
    assert (first.requests, dict(first.errors), first.p50_ms, first.rss_bytes) == (3, {"timeout": 1}, 20.0, 170)
    assert (second.requests, dict(second.errors), second.p99_ms, second.rss_bytes) == (2, {503: 1}, 7.0, 90)


def test_errors_outside_fault_windows_go_by_when_the_request_ended() -> None:
    # queued at 8 s, failed at 12 s, after the fault at 10 s: the fault's, not an error outside
    records = [(8.0, 4000.0, "conn_error"), (2.0, 1.0, 500), (11.0, 1.0, 503), (50.0, 1.0, 200)]
    assert dict(errors_outside(records, [(10.0, 40.0)])) == {500: 1}


def test_rss_growth_leaves_out_a_restarted_process() -> None:
    memory = [(0.0, {1: 100, 2: 100}), (10.0, {1: 100, 2: 100}), (50.0, {1: 103, 3: 500}), (60.0, {1: 105, 3: 500})]
    assert rss_growth(memory, span_s=15.0) == pytest.approx(0.04)  # pid 1 only: 100 -> 104 on average
    assert math.isnan(rss_growth([], 60.0))


def test_rss_growth_of_the_floor_ignores_a_transient_but_not_memory_kept() -> None:
    transient = [(0.0, {1: 100}), (10.0, {1: 100}), (50.0, {1: 180}), (60.0, {1: 100})]  # a reload's second state
    assert rss_growth(transient, span_s=15.0) == pytest.approx(0.4)  # the mean counts it
    assert rss_growth(transient, span_s=15.0, lowest=True) == pytest.approx(0.0)
    kept = [(0.0, {1: 100}), (10.0, {1: 101}), (50.0, {1: 110}), (60.0, {1: 108})]
    assert rss_growth(kept, span_s=15.0, lowest=True) == pytest.approx(0.08)  # 100 -> 108


def test_fault_cost_counts_the_window_after_the_fault_and_the_recovery_time() -> None:
    records = [(float(t), 10.0, 200) for t in range(10)]  # baseline p99 10 ms
    records += [(10.5, 0.0, "conn_error"), (12.0, 500.0, 200), (15.0, 11.0, 200), (25.0, 10.0, 200)]
    cost = fault_cost(records, "worker killed", at=10.0, window_s=10.0)
    assert (cost.requests, dict(cost.errors), cost.baseline_p99_ms) == (3, {"conn_error": 1}, 10.0)
    assert cost.recovery_s == pytest.approx(2.5)  # the 500 ms answer scheduled at 12 s ended at 12.5 s


def test_fault_spans_are_cut_short_by_the_next_fault_and_the_end() -> None:
    assert fault_spans([("a", 10.0), ("b", 25.0), ("c", 50.0)], duration_s=60.0) == [15.0, 25.0, 10.0]


def test_the_warm_up_is_reported_on_its_own_with_the_rss_step_it_took() -> None:
    from bench.soak_ops import Op
    from bench.soak_report import WarmUp

    records = [(0.5, 10.0, 200), (1.0, 30.0, 200), (2.0, 0.0, "timeout")]
    ops = [Op(0.2, "readyz", 200, 3.0), Op(10.0, "reload", 200, 1400.0)]
    memory = [(0.0, {1: 100 * 2**20, 2: 50 * 2**20}), (30.0, {1: 110 * 2**20, 3: 70 * 2**20})]  # pid 2 gone
    rows = dict(WarmUp(60.0, records, ops, memory, reloads=1).rows())
    assert rows["length, GETs, errors"] == "60 s, 3, timeout: 1"
    assert rows["operations"] == "reload 200 (1400 ms)"  # readiness checks are not listed
    assert rows["RSS, first -> last sample (processes alive in both)"] == "100 -> 110 MiB (+10.00%)"


def test_a_mixed_in_operation_cut_by_a_fault_counts_for_the_fault_not_outside() -> None:
    from bench.soak_ops import Op
    from bench.soak_report import SoakResult

    ops = [
        Op(88.0, "plan edit: PATCH", "conn_error", 2500.0, "RemoteProtocolError"),  # started before, ended in it
        Op(150.0, "events", 500, 10.0),  # outside every fault window
    ]
    memory = [(0.0, {1: 100}), (200.0, {1: 100})]
    result = SoakResult({}, 10.0, 8.0, 200.0, [], ops, memory, [("worker killed", 90.0)], {})
    rows = {measure: value for measure, value, _ in result.totals()}
    assert rows["mixed-in operations failed outside fault windows"] == "events 500: 1"
