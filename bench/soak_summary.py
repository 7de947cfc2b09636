"""Pure summaries of a soak run (``python -m bench.soak``): 30-s windows, percentiles, RSS growth, fault costs.

A request record is ``(t, latency_ms, status)``: ``t`` seconds since the open-loop phase started (the scheduled
time), ``status`` an HTTP code or a client-side outcome (``"timeout"``, ``"conn_error"``, ``"shed"``). A memory
sample is ``(t, {pid: rss_bytes})`` over the server process and its workers.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

Status = int | str
Record = tuple[float, float, Status]
MemorySample = tuple[float, dict[int, int]]


def is_error(status: Status) -> bool:
    """Anything but a 2xx answer is an error (client-side outcomes included)."""
    return not (isinstance(status, int) and 200 <= status < 300)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0–100) by linear interpolation, like numpy's default; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass
class Window:
    start: float
    requests: int = 0
    errors: Counter[Status] = field(default_factory=Counter)
    p50_ms: float = float("nan")
    p99_ms: float = float("nan")
    rss_bytes: int = 0  # the largest summed RSS sampled in the window (0: no sample)

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


def windows(
    records: Iterable[Record], memory: Iterable[MemorySample], duration_s: float, window_s: float = 30.0
) -> list[Window]:
    """Per ``window_s`` of ``[0, duration_s)``: requests, errors by status, p50/p99 of the 2xx latencies, RSS."""
    count = max(1, math.ceil(duration_s / window_s))
    out = [Window(start=i * window_s) for i in range(count)]
    latencies: list[list[float]] = [[] for _ in out]
    for t, latency_ms, status in records:
        i = min(count - 1, max(0, int(t // window_s)))
        out[i].requests += 1
        if is_error(status):
            out[i].errors[status] += 1
        else:
            latencies[i].append(latency_ms)
    for w, lat in zip(out, latencies, strict=True):
        w.p50_ms, w.p99_ms = percentile(lat, 50), percentile(lat, 99)
    for t, by_pid in memory:
        i = min(count - 1, max(0, int(t // window_s)))
        out[i].rss_bytes = max(out[i].rss_bytes, sum(by_pid.values()))
    return out


def in_any(t: float, spans: Sequence[tuple[float, float]]) -> bool:
    return any(start <= t < end for start, end in spans)


def errors_outside(records: Iterable[Record], spans: Sequence[tuple[float, float]]) -> Counter[Status]:
    """Errors by status of the requests that ended outside every ``[start, end)`` span (the fault windows): a request
    queued before a fault and failed by it counts for the fault."""
    return Counter(s for t, lat, s in records if is_error(s) and not in_any(t + lat / 1000, spans))


def rss_growth(memory: Sequence[MemorySample], span_s: float, median: bool = False, lowest: bool = False) -> float:
    """Relative growth of the summed RSS from the first ``span_s`` seconds to the last ``span_s`` seconds, over the
    processes alive in both (a restarted worker is a new process: it is left out, not counted as growth or
    shrinkage). Each process's RSS is averaged over each span — or, with ``median``, its median taken (a reload
    holds two states for a few seconds: the median leaves that transient out), or with ``lowest`` its minimum (the
    floor a process returns to: memory kept for good raises it, a transient of any length within the span does
    not). NaN without samples in both spans."""
    if not memory:
        return float("nan")
    first_end = memory[0][0] + span_s
    last_start = memory[-1][0] - span_s
    first = [by_pid for t, by_pid in memory if t <= first_end]
    last = [by_pid for t, by_pid in memory if t >= last_start]
    pids = set.intersection(*(set(s) for s in first + last)) if first and last else set()
    if not pids:
        return float("nan")
    if lowest:
        before = sum(min(float(s[p]) for s in first) for p in pids)
        after = sum(min(float(s[p]) for s in last) for p in pids)
    elif median:
        before = sum(percentile([float(s[p]) for s in first], 50) for p in pids)
        after = sum(percentile([float(s[p]) for s in last], 50) for p in pids)
    else:
        before = sum(sum(s[p] for s in first) / len(first) for p in pids)
        after = sum(sum(s[p] for s in last) / len(last) for p in pids)
    return after / before - 1 if before else float("nan")


@dataclass
class FaultCost:
    name: str
    at: float
    window_s: float
    requests: int
    errors: Counter[Status]
    p99_ms: float
    baseline_p99_ms: float
    recovery_s: float  # from the fault to the last failed or slow request of the window (0: none)
    note: str = ""


def fault_cost(
    records: Sequence[Record], name: str, at: float, window_s: float, baseline_s: float = 30.0, note: str = ""
) -> FaultCost:
    """What a fault injected at ``at`` cost: the requests that ended in ``[at, at + window_s)``, their errors, their
    p99 against the p99 of those that ended in the ``baseline_s`` before, and the recovery time: until the end of
    the last request of the window that failed or took more than max(3 × baseline p99, baseline p99 + 50 ms)."""
    before = [lat for t, lat, s in records if at - baseline_s <= t + lat / 1000 < at and not is_error(s)]
    base = percentile(before, 99)
    slow = max(3 * base, base + 50) if not math.isnan(base) else float("inf")
    inside = [(t, lat, s) for t, lat, s in records if at <= t + lat / 1000 < at + window_s]
    errors = Counter(s for _, _, s in inside if is_error(s))
    ok = [lat for _, lat, s in inside if not is_error(s)]
    bad = [t + lat / 1000 for t, lat, s in inside if is_error(s) or lat > slow]
    recovery = max(0.0, max(bad) - at) if bad else 0.0
    return FaultCost(name, at, window_s, len(inside), errors, percentile(ok, 99), base, recovery, note)


def fault_spans(faults: Sequence[tuple[str, float]], duration_s: float, window_s: float = 30.0) -> list[float]:
    """Each fault's window: ``window_s``, cut short by the next fault and the end of the run."""
    times = [at for _, at in faults] + [duration_s]
    return [max(0.0, min(window_s, times[i + 1] - times[i])) for i in range(len(faults))]


def format_errors(errors: Counter[Status]) -> str:
    return ", ".join(f"{status}: {n}" for status, n in sorted(errors.items(), key=str)) or "0"
