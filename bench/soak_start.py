"""Where a worker's start goes: the stages of ``Service.start`` timed in a fresh process, as a restarted worker.

    python -m bench.soak_start --data-dir D --artifacts-dir A                 # a worker restarted by the supervisor
    python -m bench.soak_start --data-dir D --artifacts-dir A --cold          # the first worker: no snapshot yet

A fresh interpreter imports the service (``serving.app``, as a uvicorn worker does), opens the store and runs
``Service.start`` with each stage wrapped in a timer: the shared bundle snapshot (copy + sha256 of every file when
none exists, a size/mtime check of the copy and the artifacts when another worker holds one), loading the bundle
(feature tables, FAISS indexes, compiled models), the store reads, the matcher assembly, the entities written after
training, the store reads attached to each state, and the swap. By default this process first holds the current
bundle's snapshot, as the surviving worker does when the supervisor restarts a killed one (the case the soak's
"worker killed" fault measures); ``--cold`` removes unheld snapshots first, as at the first start. The compliance
warm-up (a background thread after the start) is left out. Figures, not a test: ``--repeat`` runs it N times and
reports each stage's median.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

from bench.stage_timer import Stage, time_stages

STAGES: list[Stage] = [
    ("bundle snapshot (copy + hash, or reuse check)", None, "models.bundle", "snapshot_bundle"),
    ("bundle load: feature tables", "FeatureTables", "features.tables", "load"),
    ("bundle load: FAISS indexes and vectors", "Retriever", "models.retrieval.retriever", "load"),
    ("bundle load: compiled models", None, "models.bundle", "_attach_compiled"),
    ("store reads: serving tables", None, "serving.state", "load_serving_market"),
    ("store reads: accepted invitations", None, "serving.state", "collaborations_frame"),
    ("matcher assembly", None, "serving.state", "assemble_matcher"),
    ("live entities: missing ones", None, "serving.live_entities", "missing_part"),
    ("live entities: overlay base", "OverlayBase", "models.overlay", "of"),
    ("live entities: overlay", None, "serving.live_entities", "overlay_engine"),
    ("store reads: sample fulfilment", None, "serving.runtime", "fulfilment_rates"),
    ("store reads: pending invitations", None, "serving.runtime", "pending_invites_by_row"),
    ("swap (gc, freeze, malloc_trim)", "Service", "serving.runtime", "_swap_in_new_bundle"),
    ("sweep stale snapshots", "BundleGuard", "serving.bundle_guard", "start"),
]


def child(data_dir: Path, artifacts_dir: Path) -> dict[str, float]:
    """One worker start in this (fresh) process; seconds per stage."""
    t0 = time.perf_counter()
    import serving.app  # noqa: F401  (what a uvicorn worker imports first)

    times: dict[str, float] = defaultdict(float)
    times["import serving.app"] = time.perf_counter() - t0
    time_stages(STAGES, times)
    from recsys.core.config import Settings
    from recsys.core.store import Store
    from serving.runtime import Service
    from serving.telemetry import ServiceMetrics

    settings = Settings(data_dir=data_dir, artifacts_dir=artifacts_dir)
    settings = settings.model_copy(
        update={"serving": settings.serving.model_copy(update={"warm_up_compliance": False})}
    )
    started = time.perf_counter()
    store = Store.from_settings(settings)
    store.pin_file()
    times["store open"] = time.perf_counter() - started
    service = Service(settings, store, ServiceMetrics(), check_interval=1e9)
    started = time.perf_counter()
    service.start()
    times["Service.start (all of the above but import and store open)"] = time.perf_counter() - started
    times["total: import to ready"] = time.perf_counter() - t0
    if service.current is None:
        raise SystemExit(f"the service did not start: {service.not_ready_reason}")
    service.stop()
    store.dispose()
    return dict(times)


def run(args: argparse.Namespace) -> list[dict[str, float]]:
    """``args.repeat`` fresh worker starts, each in its own interpreter, the snapshot held here unless ``--cold``."""
    from models.bundle import current_bundle_dir
    from models.bundle_snapshot import remove_snapshot, snapshot_bundle, sweep_stale_snapshots

    held = None if args.cold else snapshot_bundle(current_bundle_dir(args.artifacts_dir), args.artifacts_dir)
    runs = []
    try:
        for _ in range(args.repeat):
            if args.cold:
                sweep_stale_snapshots(args.artifacts_dir)
            cmd = [sys.executable, "-m", "bench.soak_start", "--child", "--data-dir", str(args.data_dir)]
            out = subprocess.run(
                [*cmd, "--artifacts-dir", str(args.artifacts_dir)], capture_output=True, text=True, check=True
            )
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    finally:
        if held is not None:
            remove_snapshot(held)
    return runs


def report(runs: list[dict[str, float]]) -> str:
    labels = ["import serving.app", "store open", *(label for label, *_ in STAGES)]
    labels += ["Service.start (all of the above but import and store open)", "total: import to ready"]
    lines = [f"median of {len(runs)} start(s), seconds", "", "| stage | s |", "|---|---|"]
    for label in labels:
        values = [r.get(label, 0.0) for r in runs]
        lines.append(f"| {label} | {statistics.median(values):.2f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak_start", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, required=True, help="the store's folder (recsys.db)")
    parser.add_argument("--artifacts-dir", type=Path, required=True, help="bundles and artifacts/current")
    parser.add_argument("--cold", action="store_true", help="no snapshot held: the first worker's start")
    parser.add_argument("--repeat", type=int, default=3, help="fresh starts to take the median of (default 3)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.data_dir, args.artifacts_dir)))
        return
    print(report(run(args)))


if __name__ == "__main__":
    main()
