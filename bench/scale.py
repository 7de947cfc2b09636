"""Scale benchmark (issue 18): training in one process vs on Dask, at growing promotion counts, written to
bench/SCALE.md (bench.run rewrites bench/RESULTS.md whole, so these figures live apart).

    python -m bench.scale                          # 1M, 5M and 20M promotions (hours, ~24 GiB machine)
    python -m bench.scale --sizes 100k,300k        # a quick look
    python -m bench.scale --sizes 1M --workers 4 --cap-gib 20
    python -m bench.scale --sizes 100k,300k --reuse  # keep the runs an earlier invocation recorded

For each size: a seeded marketplace (creators = promotions / 50, products = promotions / 5, the ratios of
bench.run's large workspace) is generated once; ``recsys train --dataset`` (in memory) and ``recsys train --engine
dask --partitioned`` (a local cluster of ``--workers`` processes) are each run in a subprocess whose process tree
is sampled every 0.25 s: wall time, the driver's peak RSS, each other process's peak (Dask workers and nannies;
summed), the peak of the whole tree at one instant, and the tree's peak PSS (shared mapped pages counted once). A
path is stopped when its tree's PSS exceeds ``--cap-gib``, and not started when its last measured peak, grown
linearly with the size, would exceed it; the table says which.
NDCG@10 of both bundles comes from their manifests: same data, settings and seed, so the same validation window.
Figures, not tests: nothing here fails on a number.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

OUT = Path(__file__).resolve().parent / "out" / "scale"
REPORT = Path(__file__).resolve().parent / "SCALE.md"
RECSYS = [sys.executable, "-m", "recsys"]
GIB = 2**30
PATHS = ("memory", "dask")
DEFAULT_SIZES = (1_000_000, 5_000_000, 20_000_000)
TITLE = "# Scale: training in memory vs on Dask"


@dataclass
class Run:
    """One training run: how it ended and what it took."""

    size: int
    path: str
    status: str = "ok"
    seconds: float = 0.0
    driver_peak: int = 0
    others_peak_sum: int = 0
    tree_peak: int = 0
    tree_pss_peak: int = 0  # proportional set size: pages shared by processes (mapped files) counted once
    processes: int = 0
    ndcg: dict[str, float] = field(default_factory=dict)
    stages: dict[str, float] = field(default_factory=dict)  # the manifest's stage_seconds (train_engine's clock)


def parse_size(text: str) -> int:
    text = text.strip().lower()
    scale = {"k": 1_000, "m": 1_000_000, "b": 1_000_000_000}.get(text[-1:], 1)
    return int(float(text.rstrip("kmb")) * scale)


def label(size: int) -> str:
    for unit, scale in (("B", 10**9), ("M", 10**6), ("k", 10**3)):
        if size >= scale:
            return f"{size / scale:g}{unit}"
    return str(size)


def _tree(root: psutil.Process) -> list[psutil.Process]:
    try:
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return [root]


def measure(cmd: list[str], env: dict[str, str], log: Path, cap: int, run: Run, timeout: float | None = None) -> Run:
    """Run ``cmd`` sampling its process tree (RSS every 0.25 s, PSS every second); stop it (and say so) once the
    tree's PSS exceeds ``cap`` bytes or it has run ``timeout`` seconds. PSS, not the sum of RSS, is what the tree
    takes from the machine: the driver and the Dask workers map the same spilled feature tables, whose pages each
    process's RSS counts in full."""
    log.parent.mkdir(parents=True, exist_ok=True)
    peaks: dict[int, int] = {}
    capped, late = threading.Event(), threading.Event()
    started = time.perf_counter()
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        root = psutil.Process(proc.pid)

        def sample() -> None:
            tick, pss = 0, 0
            while proc.poll() is None:
                with_pss, total, pss_now = tick % 4 == 0, 0, 0  # PSS (smaps_rollup) every fourth sample
                for p in _tree(root):
                    try:
                        rss = p.memory_info().rss
                        pss_now += p.memory_full_info().pss if with_pss else 0
                    except psutil.Error:
                        continue
                    peaks[p.pid] = max(peaks.get(p.pid, 0), rss)
                    total += rss
                pss, tick = (pss_now if with_pss else pss), tick + 1
                run.tree_peak = max(run.tree_peak, total)
                run.tree_pss_peak = max(run.tree_pss_peak, pss)
                over_time = timeout is not None and time.perf_counter() - started > timeout
                if (pss > cap or over_time) and not (capped.is_set() or late.is_set()):
                    (capped if pss > cap else late).set()
                    os.killpg(proc.pid, signal.SIGKILL)  # the run's own session: this process and its workers
                time.sleep(0.25)

        watcher = threading.Thread(target=sample, daemon=True)
        watcher.start()
        code = proc.wait()
        watcher.join()
    run.seconds = round(time.perf_counter() - started, 1)
    run.driver_peak = peaks.get(proc.pid, 0)
    run.others_peak_sum = sum(v for pid, v in peaks.items() if pid != proc.pid)
    run.processes = len(peaks)
    if capped.is_set():
        run.status = f"stopped: tree above the {cap / GIB:g} GiB cap"
    elif late.is_set():
        run.status = f"stopped: still running after {timeout:g} s"
    elif code != 0:
        run.status = f"failed (exit {code}); see {log}"
    return run


def _env(ws: Path, path: str) -> dict[str, str]:
    return {
        **os.environ,
        "RECSYS_DATA_DIR": str(ws / f"data-{path}"),
        "RECSYS_ARTIFACTS_DIR": str(ws / f"artifacts-{path}"),
        "RECSYS_RETRIEVAL__RECALL_QUERIES": "20",  # as bench.run: bounds the exact-ranker recall check
    }


def prepare(ws: Path, size: int, seed: int) -> None:
    """Generate the size's marketplace (once) and its partitioned copy for the Dask path (once)."""
    dataset = ws / "dataset"
    if not (dataset / "marketplace.json").exists():
        cmd = [*RECSYS, "generate", "--out", str(dataset), "--creators", str(max(50, size // 50))]
        cmd += ["--products", str(max(200, size // 5)), "--promotions", str(size), "--seed", str(seed), "--no-orders"]
        subprocess.run(cmd, check=True, env=_env(ws, "memory"), stdout=subprocess.DEVNULL)
    if not (ws / "partitioned" / "partitioned.json").exists():
        from recsys.app.dask_training.export import partition_dataset

        partition_dataset(dataset, ws / "partitioned")


def _metrics(ws: Path, path: str) -> dict[str, Any]:
    artifacts = ws / f"artifacts-{path}"
    run_id = (artifacts / "current").read_text().strip()
    metrics: dict[str, Any] = json.loads((artifacts / run_id / "manifest.json").read_text())["metrics"]
    return metrics


def _ndcg(metrics: dict[str, Any]) -> dict[str, float]:
    return {d: round(float(metrics[f"{d}_ndcg@10"]), 4) for d in ("creator", "product")}


def train(ws: Path, size: int, path: str, seed: int, workers: int, cap: int, timeout: float | None) -> Run:
    cmd = [*RECSYS, "train", "--seed", str(seed)]
    if path == "memory":
        cmd += ["--dataset", str(ws / "dataset")]
    else:
        cmd += ["--engine", "dask", "--partitioned", str(ws / "partitioned"), "--workers", str(workers)]
    run = measure(cmd, _env(ws, path), ws / "logs" / f"train-{path}.log", cap, Run(size, path), timeout)
    if run.status == "ok":
        metrics = _metrics(ws, path)
        run.ndcg = _ndcg(metrics)
        run.stages = {k: float(v) for k, v in metrics.get("stage_seconds", {}).items()}
    return run


def predicted_peak(runs: list[Run], path: str, size: int) -> int | None:
    """The path's last completed peak grown linearly to ``size`` (None before any)."""
    done = [r for r in runs if r.path == path and r.status == "ok"]
    return int((done[-1].tree_pss_peak or done[-1].tree_peak) * size / done[-1].size) if done else None


def _recorded(ws: Path, path: str) -> Run | None:
    record = ws / f"run-{path}.json"
    return Run(**json.loads(record.read_text())) if record.exists() else None


def bench(
    sizes: list[int], paths: list[str], workers: int, cap: int, seed: int, reuse: bool, timeout: float | None
) -> list[Run]:
    """Every size through ``paths`` (``reuse``: a recorded run of an earlier invocation is kept, and a path not in
    ``paths`` is reported from its record when there is one)."""
    runs: list[Run] = []
    for size in sizes:
        ws = OUT / label(size)
        prepare(ws, size, seed)
        for path in PATHS:
            if path not in paths:
                if reuse and (old := _recorded(ws, path)) is not None:
                    runs.append(old)
                continue
            guess = predicted_peak(runs, path, size)
            if reuse and (old := _recorded(ws, path)) is not None:
                runs.append(old)
            elif guess is not None and guess > cap:
                runs.append(Run(size, path, f"not run: would need ~{guess / GIB:.1f} GiB (linear from the last size)"))
            else:
                runs.append(train(ws, size, path, seed, workers, cap, timeout))
                (ws / f"run-{path}.json").write_text(json.dumps(asdict(runs[-1])))
            print(json.dumps(asdict(runs[-1])), flush=True)
    return runs


def _gib(n: int) -> str:
    return f"{n / GIB:.2f}" if n else "-"


def render(runs: list[Run], argv: list[str], workers: int, cap: int, note: str = "") -> str:
    """One dated report section (newest sections go first in bench/SCALE.md, see :func:`write_report`)."""
    machine = f"{psutil.cpu_count()} cores, {psutil.virtual_memory().total / GIB:.0f} GiB"
    lines = [
        f"## {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"`python -m bench.scale {' '.join(argv)}` — {machine}, "
        f"{workers} Dask worker processes, cap {cap / GIB:g} GiB of the tree's PSS per run. Memory is resident set "
        "size (RSS) sampled every 0.25 s: the driver (the `recsys train` process), the sum of every other process's "
        "own peak (Dask nannies and workers), and the whole tree at one instant; and the tree's proportional set "
        "size (PSS, sampled every second: pages several processes map, such as the spilled feature tables, counted "
        "once), which is what the cap applies to.",
        *(["", note] if note else []),
        "",
        "| promotions | path | status | wall s | driver peak GiB | workers' peaks summed GiB | tree peak GiB "
        "| tree PSS peak GiB | NDCG@10 creator | NDCG@10 product |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in runs:
        lines.append(
            f"| {label(r.size)} | {r.path} | {r.status} | {r.seconds:.1f} | {_gib(r.driver_peak)} | "
            f"{_gib(r.others_peak_sum)} | {_gib(r.tree_peak)} | {_gib(r.tree_pss_peak)} | "
            f"{r.ndcg.get('creator', '-')} | "
            f"{r.ndcg.get('product', '-')} |"
        )
    lines += ["", "Largest size completed on this machine, among the sizes run:"]
    for path in PATHS:
        done = [r.size for r in runs if r.path == path and r.status == "ok"]
        lines.append(f"- {path}: {label(max(done)) if done else 'none'}")
    missing = [label(s) for s in DEFAULT_SIZES if s not in {r.size for r in runs}]
    if missing:
        lines += [
            "",
            f"**Not run in this report: {', '.join(missing)} promotions** (the issue's sizes); nothing above "
            "says how those behave beyond the linear growth below.",
        ]
    lines += ["", *growth(runs), *stage_lines(runs)]
    return "\n".join(lines) + "\n"


def stage_lines(runs: list[Run]) -> list[str]:
    """Where each completed run's training time went (the stages ``recsys train`` times; the rest of the wall
    time is start-up, reading the data, starting the cluster and writing the bundle)."""
    timed = [r for r in runs if r.stages]
    if not timed:
        return []
    out = ["", "Stage seconds (from each bundle's manifest):", ""]
    for r in timed:
        stages = ", ".join(f"{k} {v:g}" for k, v in sorted(r.stages.items(), key=lambda kv: -kv[1]))
        out.append(f"- {label(r.size)} {r.path}: {stages} (sum {sum(r.stages.values()):.1f} of {r.seconds:.1f} s wall)")
    return out


def write_report(section: str) -> None:
    """Put ``section`` first in bench/SCALE.md under its title, keeping the earlier sections below it."""
    earlier = REPORT.read_text().removeprefix(TITLE).lstrip("\n") if REPORT.exists() else ""
    REPORT.write_text(f"{TITLE}\n\n{section}" + (f"\n{earlier}" if earlier else ""))


def growth(runs: list[Run]) -> list[str]:
    """Bytes per extra promotion between the two largest completed sizes of each path, and what that gives at 1B."""
    out = ["Growth between the two largest completed sizes (linear; a rough guide, not a measurement):"]
    for path in PATHS:
        done = sorted((r for r in runs if r.path == path and r.status == "ok"), key=lambda r: r.size)
        if len(done) < 2:
            out.append(f"- {path}: fewer than two completed sizes")
            continue
        a, b = done[-2], done[-1]
        per = (b.tree_peak - a.tree_peak) / (b.size - a.size)
        driver = (b.driver_peak - a.driver_peak) / (b.size - a.size)
        secs = (b.seconds - a.seconds) / (b.size - a.size)
        at_1b = b.tree_peak + per * (10**9 - b.size)
        out.append(
            f"- {path}: {per:.0f} B of tree RSS and {driver:.0f} B of driver RSS per extra promotion, "
            f"{secs * 1e6:.1f} s per extra million; at 1B promotions ~{at_1b / GIB:,.0f} GiB in total, "
            f"~{(b.driver_peak + driver * (10**9 - b.size)) / GIB:,.0f} GiB of it in the driver"
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1M,5M,20M", help="promotion counts, e.g. 100k,300k or 1M,5M,20M")
    parser.add_argument("--workers", type=int, default=max(1, (psutil.cpu_count() or 2)), help="Dask workers")
    parser.add_argument("--cap-gib", type=float, default=20.0, help="stop a run whose process tree's PSS exceeds this")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-report", action="store_true", help="print the table, leave bench/SCALE.md alone")
    parser.add_argument("--reuse", action="store_true", help="keep runs recorded by an earlier invocation")
    parser.add_argument("--note", default="", help="a sentence for the report (e.g. what else ran on the machine)")
    parser.add_argument("--paths", default="memory,dask", help="which paths to run (memory, dask or both)")
    parser.add_argument("--timeout-s", type=float, default=None, help="stop a training run after this many seconds")
    args = parser.parse_args()
    sizes = sorted(parse_size(s) for s in args.sizes.split(","))
    cap = int(args.cap_gib * GIB)
    runs = bench(sizes, args.paths.split(","), args.workers, cap, args.seed, args.reuse, args.timeout_s)
    argv = sys.argv[1:]
    if "--note" in argv:  # the note is printed as a paragraph, not inside the command line
        i = argv.index("--note")
        argv = [*argv[:i], "--note", "…", *argv[i + 2 :]]
    text = render(runs, argv, args.workers, cap, args.note)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "runs.json").write_text(json.dumps([asdict(r) for r in runs], indent=2))
    if not args.no_report:
        write_report(text)
    print(text)


if __name__ == "__main__":
    main()
