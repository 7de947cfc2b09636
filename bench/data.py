"""Benchmark workspaces: a generated marketplace, its store (serving tables) and its trained bundle, each step run
through the real CLI in a subprocess whose wall time and peak memory are measured."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

RECSYS = [sys.executable, "-m", "recsys"]
SERVING_TABLES = ("merchants", "products", "creators", "plans")


@dataclass
class Measured:
    seconds: float
    peak_rss_bytes: int


@dataclass
class Workspace:
    """bench/out/<tag>/: dataset/, serving_dataset/ (links to the serving tables), data/ (store), artifacts/."""

    root: Path
    creators: int
    products: int
    promotions: int
    seed: int = 1

    @property
    def dataset(self) -> Path:
        return self.root / "dataset"

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "RECSYS_DATA_DIR": str(self.root / "data"),
            "RECSYS_ARTIFACTS_DIR": str(self.root / "artifacts"),
            # exact-ranker recall scores the whole catalogue per query: 20 queries per direction bound it
            "RECSYS_RETRIEVAL__RECALL_QUERIES": "20",
        }

    def generated(self) -> bool:
        meta = self.dataset / "marketplace.json"
        if not meta.exists():
            return False
        config = json.loads(meta.read_text())["config"]
        return (config["creators"], config["products"], config["promotions"], config["seed"]) == (
            self.creators,
            self.products,
            self.promotions,
            self.seed,
        )

    def has_bundle(self) -> bool:
        return (self.root / "artifacts" / "current").exists()


def run_measured(cmd: list[str], env: dict[str, str], log: Path) -> Measured:
    """Run ``cmd``; wall time and the peak RSS of its process tree (sampled every 0.2 s). Raises on failure."""
    log.parent.mkdir(parents=True, exist_ok=True)
    peak = [0]
    started = time.perf_counter()
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
        watcher = psutil.Process(proc.pid)

        def sample() -> None:
            while proc.poll() is None:
                try:
                    rss = watcher.memory_info().rss + sum(c.memory_info().rss for c in watcher.children(True))
                    peak[0] = max(peak[0], rss)
                except psutil.Error:
                    pass
                time.sleep(0.2)

        thread = threading.Thread(target=sample, daemon=True)
        thread.start()
        code = proc.wait()
        thread.join()
    if code != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed with exit code {code}; see {log}")
    return Measured(time.perf_counter() - started, peak[0])


def prepare(ws: Workspace, train: bool) -> dict[str, Measured]:
    """Generate (once), import the serving tables (once) and train (when ``train`` or no bundle yet)."""
    done: dict[str, Measured] = {}
    if not ws.generated():
        # a new dataset invalidates the store and the bundles built from the old one
        for stale in ("data", "artifacts", "serving_dataset"):
            shutil.rmtree(ws.root / stale, ignore_errors=True)
        done["generate"] = run_measured(
            [
                *RECSYS,
                "generate",
                "--out",
                str(ws.dataset),
                "--creators",
                str(ws.creators),
                "--products",
                str(ws.products),
                "--promotions",
                str(ws.promotions),
                "--seed",
                str(ws.seed),
                "--no-orders",
            ],
            ws.env,
            ws.root / "logs" / "generate.log",
        )
    if not (ws.root / "data" / "recsys.db").exists():
        serving = ws.root / "serving_dataset"
        serving.mkdir(parents=True, exist_ok=True)
        for name in SERVING_TABLES:
            link = serving / f"{name}.parquet"
            if not link.exists():
                link.symlink_to((ws.dataset / f"{name}.parquet").resolve())
        done["import"] = run_measured([*RECSYS, "import", str(serving)], ws.env, ws.root / "logs" / "import.log")
    if train or not ws.has_bundle():
        done["train"] = run_measured(
            [*RECSYS, "train", "--dataset", str(ws.dataset), "--seed", str(ws.seed)],
            ws.env,
            ws.root / "logs" / "train.log",
        )
        record = {**asdict(done["train"]), "bundle": current_run_id(ws), "measured_at": time.strftime("%Y-%m-%d %H:%M")}
        (ws.root / "train_measured.json").write_text(json.dumps(record, indent=2))
    return done


def current_run_id(ws: Workspace) -> str:
    return (ws.root / "artifacts" / "current").read_text().strip()


def recorded_training(ws: Workspace) -> dict | None:  # type: ignore[type-arg]
    """The training measurement written when the current bundle was trained (for ``--reuse`` runs)."""
    path = ws.root / "train_measured.json"
    if not path.exists():
        return None
    record = json.loads(path.read_text())
    return record if record.get("bundle") == current_run_id(ws) else None


def bundle_bytes(ws: Workspace) -> dict[str, int]:
    """Bytes of the bundle's vectors (retrieval .npy) and feature tables (features .npy)."""
    current = ws.root / "artifacts" / current_run_id(ws)
    vectors = sum(p.stat().st_size for p in (current / "retrieval").glob("*.npy"))
    tables = sum(p.stat().st_size for p in (current / "features").glob("*.npy"))
    return {"vectors": vectors, "tables": tables}


def manifest(ws: Workspace) -> dict:  # type: ignore[type-arg]
    current = ws.root / "artifacts" / current_run_id(ws)
    return json.loads((current / "manifest.json").read_text())


def workspaces(out: Path, scale: float) -> tuple[Workspace, Workspace]:
    """The benchmarks' two marketplaces at ``scale``: 100k creators x 1M products x 5M promotions, and the same
    creators with 10x fewer products (and promotions), so that only the catalogue size changes."""
    big = Workspace(out / f"large-{scale:g}", int(100_000 * scale), int(1_000_000 * scale), int(5_000_000 * scale))
    small = Workspace(out / f"small-{scale:g}", int(100_000 * scale), int(100_000 * scale), int(500_000 * scale))
    return big, small
