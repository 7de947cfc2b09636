"""Do lookalikes look alike? Shares of main category and fan tier, lookalikes vs random admitted creators.

    python -m bench.lookalikes --data-dir /work/scratch/demo/data --artifacts-dir /work/scratch/demo/artifacts

Opens the current bundle and the store like the service does (admission from the store's current tables), builds
the lookalike index (:mod:`models.matching.lookalikes`) and, for ``--queries`` random admitted creators (seeded),
compares their ``--k`` nearest admitted creators with ``--k`` random admitted creators: how often each shares the
query's main (first-listed) category and fan tier. Prints the figures and their ratios; never fails on a value.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from models.matching.lookalikes import LookalikeIndex, SharedTraits, shared_traits
from recsys.core.config import Settings


def measure(data_dir: Path, artifacts_dir: Path, k: int, queries: int, seed: int) -> tuple[SharedTraits, int, float]:
    """(shares, admitted creators, seconds to build the index) on the marketplace in ``data_dir``."""
    from serving.state import open_matcher_state  # the service's own assembly (bench is application code)

    settings = Settings(data_dir=data_dir, artifacts_dir=artifacts_dir)
    state = open_matcher_state(settings)
    engine = state.bundle.engine
    started = time.perf_counter()
    index = LookalikeIndex(engine.retriever)
    built = time.perf_counter() - started
    listed = engine.tables.arrays["creator_category_listed"]
    category = np.where(listed.max(axis=1) >= 1.0, listed.argmax(axis=1), -1)
    tier = engine.tables.arrays["creator_fan_tier"].astype(np.int64)
    book = state.matcher.planbook
    allowed = np.asarray(book.admitted_creators, bool) if book is not None else np.ones(len(category), bool)
    return shared_traits(index, category, tier, allowed, k, queries, seed), int(allowed.sum()), built


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="the store's folder (settings.data_dir)")
    parser.add_argument("--artifacts-dir", type=Path, required=True, help="bundles (settings.artifacts_dir)")
    parser.add_argument("--k", type=int, default=10, help="lookalikes per creator")
    parser.add_argument("--queries", type=int, default=500, help="random admitted creators to query")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    console = Console()
    with console.status("opening the bundle and the store, measuring"):
        shares, admitted, built = measure(args.data_dir, args.artifacts_dir, args.k, args.queries, args.seed)
    table = Table(title=f"{shares.queries} creators x {shares.k} lookalikes vs {shares.k} random ({admitted} admitted)")
    for column in ("shares the query's", "lookalikes", "random admitted", "ratio"):
        table.add_column(column, justify="right")
    for name, ours, rnd in (
        ("main category", shares.category_lookalikes, shares.category_random),
        ("fan tier", shares.tier_lookalikes, shares.tier_random),
    ):
        ratio = f"{ours / rnd:.2f}x" if rnd > 0 else "n/a"
        table.add_row(name, f"{ours:.3f}", f"{rnd:.3f}", ratio)
    console.print(table)
    console.print(f"lookalike index built in {built * 1000:.0f} ms (seed {args.seed})")


if __name__ == "__main__":
    main()
