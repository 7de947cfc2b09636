"""The soak's report: per-window table, totals against the targets, fault costs, the mixed-in operations."""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.soak_ops import Op
from bench.soak_summary import (
    FaultCost,
    MemorySample,
    Record,
    Status,
    errors_outside,
    fault_cost,
    fault_spans,
    format_errors,
    is_error,
    percentile,
    rss_growth,
    windows,
)

WINDOW_S = 30.0
MiB = 2**20


@dataclass
class WarmUp:
    """The warm-up before the measured run (``python -m bench.soak --warmup``): load, operations, memory."""

    seconds: float
    records: list[Record]
    ops: list[Op]
    memory: list[MemorySample]
    reloads: int  # swaps made, so the measured run's reloads keep alternating

    def rows(self) -> list[tuple[str, ...]]:
        errors: Counter[Status] = Counter(s for _, _, s in self.records if is_error(s))
        answered = [lat for _, lat, s in self.records if not is_error(s)]
        ops = ", ".join(f"{op.name} {op.status} ({op.latency_ms:.0f} ms)" for op in self.ops if op.name != "readyz")
        first, last = _first_and_last(self.memory)
        growth = rss_growth(self.memory, 0.0)
        rss = f"{first / MiB:.0f} -> {last / MiB:.0f} MiB ({100 * growth:+.2f}%)" if first and last else "n/a"
        return [
            ("length, GETs, errors", f"{self.seconds:.0f} s, {len(self.records)}, {format_errors(errors)}"),
            ("p50 / p99 ms", f"{_ms(percentile(answered, 50))} / {_ms(percentile(answered, 99))}"),
            ("operations", ops or "none"),
            ("RSS, first -> last sample (processes alive in both)", rss),
        ]


def _first_and_last(memory: list[MemorySample]) -> tuple[int, int]:
    """Summed RSS of the first and the last sample over the processes in both (0, 0 without samples)."""
    if not memory:
        return 0, 0
    (_, first), (_, last) = memory[0], memory[-1]
    pids = set(first) & set(last)
    return sum(first[p] for p in pids), sum(last[p] for p in pids)


@dataclass
class SoakResult:
    args: dict[str, Any]
    capacity: float
    rate: float
    duration_s: float
    records: list[Record]
    ops: list[Op]
    memory: list[MemorySample]
    faults: list[tuple[str, float]]
    fault_notes: dict[str, str]
    serve_log_tail: list[str] = field(default_factory=list)
    load_averages: list[float] = field(default_factory=list)  # the machine's 1-min load average, sampled every 2 s
    warmup: WarmUp | None = None

    def spans(self) -> list[tuple[float, float]]:
        lengths = fault_spans(self.faults, self.duration_s, WINDOW_S)
        return [(at, at + n) for (_, at), n in zip(self.faults, lengths, strict=True)]

    def costs(self) -> list[FaultCost]:
        lengths = fault_spans(self.faults, self.duration_s, WINDOW_S)
        return [
            fault_cost(self.records, name, at, n, note=self.fault_notes.get(name, "not injected (run ended first)"))
            for (name, at), n in zip(self.faults, lengths, strict=True)
        ]

    def totals(self) -> list[tuple[str, ...]]:
        spans = self.spans()
        outside = errors_outside(self.records, spans)
        op_errors: Counter[Status] = Counter(  # by when it ended, like the GETs: one cut by a fault is the fault's
            f"{op.name} {op.status}"
            for op in self.ops
            if is_error(op.status) and not _in(op.t + op.latency_ms / 1000, spans)
        )
        span = min(60.0, self.duration_s / 3)
        growth = rss_growth(self.memory, span)
        resting = rss_growth(self.memory, span, median=True)
        floor = rss_growth(self.memory, span, lowest=True)
        requests = len(self.records)
        errors = sum(1 for _, _, s in self.records if is_error(s))
        restarted = len({p for _, m in self.memory for p in m}) - len(self.memory[0][1]) if self.memory else 0
        answered = [lat for _, lat, s in self.records if not is_error(s)]
        p50 = percentile(answered, 50)
        overloaded = "overloaded: latency is queueing (load elsewhere on the machine?)" if p50 > 1000 else ""
        return [
            ("capacity (closed loop), req/s", f"{self.capacity:.1f}", ""),
            ("open-loop rate, req/s", f"{self.rate:.1f} for {self.duration_s:.0f} s", ""),
            (
                "2xx answers per second, p50 / p99 ms over the run",
                f"{len(answered) / self.duration_s:.1f}, {_ms(p50)} / {_ms(percentile(answered, 99))}",
                overloaded,
            ),
            ("GETs: requests, errors (all)", f"{requests}, {errors}", ""),
            ("GET errors outside fault windows", format_errors(outside), _verdict(sum(outside.values()) == 0, "0")),
            (
                "mixed-in operations failed outside fault windows",
                format_errors(op_errors),
                _verdict(not op_errors, "0"),
            ),
            (
                f"RSS growth, first {span:.0f} s -> last {span:.0f} s (processes alive in both){self._after()}",
                f"{100 * growth:+.2f}%" if not math.isnan(growth) else "n/a",
                _verdict(not math.isnan(growth) and growth < 0.05, "< 5%"),
            ),
            (
                "RSS growth, medians of the same spans (a reload's transient second state left out)",
                f"{100 * resting:+.2f}%" if not math.isnan(resting) else "n/a",
                "",
            ),
            (
                "RSS growth, lowest of the same spans (the floor each process returns to)",
                f"{100 * floor:+.2f}%" if not math.isnan(floor) else "n/a",
                "",
            ),
            ("processes that appeared during the run (restarts)", str(max(0, restarted)), ""),
            ("machine load average (1 min) during the run: min / median / max", _loads(self.load_averages), ""),
        ]

    def _after(self) -> str:
        return f", after a {self.warmup.seconds:.0f}-s warm-up" if self.warmup else ", no warm-up"


def _loads(samples: list[float]) -> str:
    if not samples:
        return "n/a"
    return f"{min(samples):.1f} / {percentile(samples, 50):.1f} / {max(samples):.1f} (2 cores)"


def _in(t: float, spans: list[tuple[float, float]]) -> bool:
    return any(a <= t < b for a, b in spans)


def _verdict(met: bool, target: str) -> str:
    return f"{'met' if met else 'MISSED'} (target {target})"


def _ms(x: float) -> str:
    return "-" if math.isnan(x) else f"{x:.1f}"


def window_rows(result: SoakResult) -> list[tuple[str, ...]]:
    faults_at = {int(at // WINDOW_S): name for name, at in result.faults}
    rows: list[tuple[str, ...]] = []
    for i, w in enumerate(windows(result.records, result.memory, result.duration_s, WINDOW_S)):
        rows.append(
            (
                f"{w.start:.0f}-{w.start + WINDOW_S:.0f}",
                str(w.requests),
                format_errors(w.errors),
                _ms(w.p50_ms),
                _ms(w.p99_ms),
                f"{w.rss_bytes / MiB:.0f}" if w.rss_bytes else "-",
                faults_at.get(i, ""),
            )
        )
    return rows


def fault_rows(result: SoakResult) -> list[tuple[str, ...]]:
    return [
        (
            c.name,
            f"{c.at:.0f}",
            f"{c.window_s:.0f}",
            str(c.requests),
            format_errors(c.errors),
            f"{_ms(c.p99_ms)} (before {_ms(c.baseline_p99_ms)})",
            f"{c.recovery_s:.1f}",
            c.note,
        )
        for c in result.costs()
    ]


def op_rows(result: SoakResult) -> list[tuple[str, ...]]:
    by_name: dict[str, list[Op]] = defaultdict(list)
    for op in result.ops:
        by_name[op.name].append(op)
    rows: list[tuple[str, ...]] = []
    for name, ops in by_name.items():
        statuses = Counter(op.status for op in ops)
        worst = max(ops, key=lambda o: o.latency_ms)
        failed = next((o for o in ops if is_error(o.status) and o.detail), None)
        detail = failed.detail if failed else ops[-1].detail
        rows.append((name, str(len(ops)), format_errors(statuses), f"{worst.latency_ms:.0f}", detail))
    return rows


WINDOW_COLS = ("window s", "requests", "errors", "p50 ms", "p99 ms", "RSS MiB (max)", "fault")
FAULT_COLS = ("fault", "at s", "window s", "requests", "errors", "p99 ms", "recovery s", "what happened")
OP_COLS = ("operation", "n", "statuses", "max ms", "detail (a failure's, else the last)")
TOTAL_COLS = ("measure", "value", "target")
WARMUP_COLS = ("warm-up (not in the windows or totals)", "value")


def print_result(result: SoakResult) -> None:
    console = Console(width=160)
    for title, cols, rows in _sections(result):
        table = Table(title=title)
        for col in cols:
            table.add_column(col)
        for row in rows:
            table.add_row(*row)
        console.print(table)


def _sections(result: SoakResult) -> list[tuple[str, tuple[str, ...], list[tuple[str, ...]]]]:
    warm = [("warm-up before the measured run", WARMUP_COLS, result.warmup.rows())] if result.warmup else []
    return [
        *warm,
        ("per 30-s window (GETs, open loop)", WINDOW_COLS, window_rows(result)),
        ("injected faults: cost in the window after each", FAULT_COLS, fault_rows(result)),
        ("mixed-in operations", OP_COLS, op_rows(result)),
        ("totals", TOTAL_COLS, result.totals()),
    ]


def write_result(result: SoakResult, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    if path.suffix == ".json":
        body = {
            "date": when,
            "args": {k: str(v) for k, v in result.args.items()},
            **{title: [dict(zip(cols, row, strict=True)) for row in rows] for title, cols, rows in _sections(result)},
            "memory_samples": result.memory,
            "ops": [asdict(op) for op in result.ops],
        }
        path.write_text(json.dumps(body, indent=2, default=str))
        return
    argv = " ".join(
        f"--{k.replace('_', '-')}" + ("" if v is True else f" {v}")
        for k, v in result.args.items()
        if v is not None and v is not False and k != "out"
    )
    lines = ["# Soak and fault benchmark", "", f"`python -m bench.soak {argv}` — {when}", ""]
    for title, cols, rows in _sections(result):
        lines += [f"## {title}", "", "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        lines += ["| " + " | ".join(c.replace("|", "/") for c in row) + " |" for row in rows]
        lines.append("")
    lines += ["## last lines of the server log", "", "```", *result.serve_log_tail, "```", ""]
    path.write_text("\n".join(lines))
