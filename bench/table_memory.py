"""Memory of one cutoff's feature-table build (issue 18: what stopped 20M promotions on Dask), on a dataset that
``python -m bench.scale`` generated.

    python -m bench.table_memory --size 1M      # ~30 s
    python -m bench.table_memory --size 5M      # ~3 min, ~6 GiB

Reads ``bench/out/scale/<size>/dataset`` in memory, computes the promotion history's aggregates at the first
training window's cutoff (as the Dask path's workers hand them to the driver), drops the promotions, then runs
``build_feature_tables`` once with those aggregates and prints the process's RSS before it, its peak during the
build (``/proc/self/status`` VmHWM after a reset through ``/proc/self/clear_refs``; Linux only) and the RSS after,
next to the bytes of the tables built. Figures, not tests: nothing here fails on a number.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import time
from pathlib import Path

import pandas as pd

from bench.reload_memory import proc_status
from bench.scale import OUT
from features.history import History
from features.history_aggregates import HistoryInputs, history_aggregates, table_categories
from features.tables import build_feature_tables
from models.training.dask_windows import window_bounds
from recsys.core.config import Settings
from recsys.core.datasets.importer import read_dataset
from recsys.core.schema import PROMOTION_FORMATS


def _gib(name: str) -> float:
    """A ``/proc/self/status`` memory figure of this process in GiB."""
    return proc_status((name,))[name] / 1024


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")  # resets VmHWM to the current RSS


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="1M", help="a size bench.scale generated (1M, 5M, 20M, ...)")
    args = parser.parse_args(argv)
    directory = OUT / args.size / "dataset"
    if not directory.exists():
        parser.error(f"{directory} does not exist: run `python -m bench.scale --sizes {args.size}` first")
    settings = Settings()
    started = time.perf_counter()
    market, _ = read_dataset(Path(directory), settings)
    r = settings.ranker
    end = market.promotions["started_at"].max().normalize() + pd.Timedelta(days=1)
    cutoff = window_bounds(end, r.label_days, r.train_windows, r.valid_days)[0][0][0]
    creators, products = market.creators, market.products
    inputs = HistoryInputs.of(creators, products, table_categories(creators, products))
    ids = pd.Index(creators["creator_id"]), pd.Index(products["product_id"])
    history = History.of(market.promotions, *ids, cutoff, PROMOTION_FORMATS)
    aggregates = history_aggregates(history, inputs)
    del history
    market = dataclasses.replace(market, promotions=market.promotions.iloc[:0], orders=market.orders.iloc[:0])
    gc.collect()
    print(f"{args.size}: read and aggregated in {time.perf_counter() - started:.0f} s, cutoff {cutoff.date()}")
    before = _gib("VmRSS")
    _reset_peak()
    started = time.perf_counter()
    r_scale, cf = settings.rules.experience_scale, settings.retrieval.cf_factors
    tables = build_feature_tables(market, cutoff, r_scale, cf, 0, aggregates=aggregates)
    seconds, peak, after = time.perf_counter() - started, _gib("VmHWM"), _gib("VmRSS")
    size = tables.creator.nbytes + tables.product.nbytes + sum(a.nbytes for a in tables.arrays.values())
    print(
        f"build {seconds:.1f} s ({len(tables.creators):,} creators x {len(tables.products):,} products): RSS before "
        f"{before:.2f} GiB, peak {peak:.2f} (+{peak - before:.2f}), after {after:.2f} (+{after - before:.2f}); "
        f"tables {size / 2**30:.2f} GiB"
    )


if __name__ == "__main__":
    main()
