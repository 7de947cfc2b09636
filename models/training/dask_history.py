"""Point-in-time history aggregates on the Dask workers: the driver receives per-creator, per-product and per-pair
arrays (:class:`features.history_aggregates.HistoryAggregates`), never a promotion row.

The promotions are read in two partitionings: as exported, all of a creator's promotions in one partition
(creator-hash buckets), and shuffled once per training run so that all of a product's promotions sit in one
partition (:func:`product_buckets`: ``dask.dataframe``'s P2P shuffle, written to Parquet next to the spilled
tables). At each cutoff of the run, one pass over both (the workers hold one cutoff's results at a time):

- each creator partition builds the :class:`features.history.History` of its own creators and runs
  :func:`features.history_aggregates.creator_side` and :func:`~features.history_aggregates.pair_side` on it;
- each product partition builds the history of its own products and runs
  :func:`~features.history_aggregates.product_figures` on it;

— final values for those creators, pairs and products, gathered as they complete and put at their rows on the
driver, where the products' figures go through :func:`~features.history_aggregates.product_side` (it reads the whole
catalogue). These are the functions the in-memory path runs, so both paths build equal tables (float sums added in
another order may differ in the last bits; counts, minima and medians are exact). Nothing is added up or shuffled
per cutoff: the product side used to be partial sums per (partition, product) — ~30 float64 columns for every
product a partition touched, 32 × ~0.5M rows at 20M promotions — added up by a shuffle, with a second shuffle for
the medians, all held on the workers until the totals were computed.
"""

from __future__ import annotations

import shutil
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from features.history import OUTCOME_COLUMNS, History
from features.history_aggregates import (
    PAIR_ARRAYS,
    HistoryAggregates,
    HistoryInputs,
    ProductFigures,
    creator_side,
    pair_side,
    product_figures,
    product_side,
)
from recsys.core.schema import PROMOTION_FORMATS

if TYPE_CHECKING:
    import dask.dataframe as dd
    from distributed import Client, Future

# what History.of reads of a promotion: the columns the product shuffle moves
PRODUCT_SIDE_COLUMNS = ["creator_id", "product_id", "started_at", "format", *OUTCOME_COLUMNS]
BY_PRODUCT = "promotions-by-product"  # the shuffled copy's folder in the spill directory


@dataclass(frozen=True)
class HistoryContext:
    """What every partition task reads besides its promotions (scattered once to every worker)."""

    creators: pd.Index  # creator ids in table row order
    products: pd.Index  # product ids in table row order
    inputs: HistoryInputs
    cutoffs: tuple[pd.Timestamp, ...]


@dataclass
class CreatorPart:
    """One partition's final creator-side values at one cutoff; ``rows``: their creator rows in the tables."""

    rows: np.ndarray
    windows: pd.DataFrame
    arrays: dict[str, np.ndarray]
    pairs: dict[str, np.ndarray]  # pair_keys (in table rows), counts, GMV, orders
    cf_entries: tuple[np.ndarray, np.ndarray, np.ndarray]


def local_history(part: pd.DataFrame, ctx: HistoryContext, cutoff: pd.Timestamp) -> tuple[History, np.ndarray]:
    """The history of the partition's creators (local creator rows; products keep the tables' rows) and the tables'
    row of each local creator (increasing, so local order is table order)."""
    found = ctx.creators.get_indexer(pd.Index(part["creator_id"].unique()))
    rows = np.sort(found[found >= 0]).astype(np.int64)
    return History.of(part, ctx.creators[rows], ctx.products, cutoff, PROMOTION_FORMATS), rows


def creator_part(history: History, rows: np.ndarray, inputs: HistoryInputs) -> CreatorPart:
    """Creator- and pair-side aggregates of a partition, with creator rows and pair keys mapped to table rows."""
    windows, arrays = creator_side(history, inputs)
    pairs, (local_c, p, values) = pair_side(history)
    c = rows[local_c]
    pairs["pair_keys"] = c * history.n_products + p
    return CreatorPart(rows, windows, arrays, pairs, (c, p, values))


@dataclass
class ProductPart:
    """One product partition's figures at one cutoff; ``rows``: their product rows in the tables."""

    rows: np.ndarray
    figures: ProductFigures


def creator_task(part: pd.DataFrame, ctx: HistoryContext, k: int) -> CreatorPart:
    """One creator partition at cutoff ``k`` (runs on a worker)."""
    history, rows = local_history(part, ctx, ctx.cutoffs[k])
    return creator_part(history, rows, ctx.inputs)


def product_task(part: pd.DataFrame, ctx: HistoryContext, k: int) -> ProductPart:
    """One product partition at cutoff ``k`` (runs on a worker): the history of its products (local product rows,
    creators keep the tables' rows) and their figures."""
    found = ctx.products.get_indexer(pd.Index(part["product_id"].unique()))
    rows = np.sort(found[found >= 0]).astype(np.int64)
    history = History.of(part, ctx.creators, ctx.products[rows], ctx.cutoffs[k], PROMOTION_FORMATS)
    return ProductPart(rows, product_figures(history, ctx.inputs))


def product_buckets(promotions: dd.DataFrame, directory: Path | None) -> dd.DataFrame:
    """The promotions' :data:`PRODUCT_SIDE_COLUMNS`, shuffled by product id (every product's promotions in one
    partition, as many partitions as ``promotions``): written to ``directory`` and read back one file per partition,
    or, without one (a remote cluster may not see the driver's disk), persisted in the workers' memory."""
    import dask.dataframe as dd

    shuffled = promotions[PRODUCT_SIDE_COLUMNS].shuffle(on="product_id", npartitions=promotions.npartitions)
    if directory is None:
        return shuffled.persist()
    shuffled.to_parquet(directory, write_index=False)
    files = sorted(str(f) for f in Path(directory).glob("*.parquet"))  # whole files: a product never spans two
    return dd.from_map(pd.read_parquet, files, meta=shuffled._meta, enforce_metadata=False)


def assemble(
    creator_parts: list[CreatorPart], product_parts: list[ProductPart], inputs: HistoryInputs, shape: tuple[int, int]
) -> HistoryAggregates:
    """The cutoff's :class:`HistoryAggregates` from the partitions' parts, put together as
    :func:`~features.history_aggregates.history_aggregates` puts the whole history's; entities without any
    promotion keep the values of an empty history."""
    empty = History.empty(*shape)
    creator_windows, arrays = creator_side(empty, inputs)
    for part in creator_parts:
        creator_windows.iloc[part.rows] = part.windows.to_numpy()
        for name, values in part.arrays.items():
            arrays[name][part.rows] = values
    figures = product_figures(empty, inputs)
    for product in product_parts:
        figures.put(product.rows, product.figures)
    product_windows, product_arrays = product_side(figures)
    pieces = [(part.pairs, part.cf_entries) for part in creator_parts] or [pair_side(empty)]
    order = np.argsort(np.concatenate([pairs["pair_keys"] for pairs, _ in pieces]), kind="stable")
    for name in PAIR_ARRAYS:
        arrays[name] = np.concatenate([pairs[name] for pairs, _ in pieces])[order]
    cf = tuple(np.concatenate([entries[i] for _, entries in pieces]) for i in range(3))
    return HistoryAggregates(creator_windows, product_windows, {**arrays, **product_arrays}, cf)  # type: ignore[arg-type]


def _gathered(client: Client, tasks: list[Any]) -> list[Any]:
    """The tasks' results in their order, each fetched as soon as it completes and then released on the workers
    (the workers hold only what the driver has not fetched yet)."""
    from distributed import as_completed

    futures = client.compute(tasks)
    where = {future.key: i for i, future in enumerate(futures)}
    pending = as_completed(futures, with_results=True)
    del futures
    out: list[Any] = [None] * len(where)
    for future, result in pending:
        out[where[future.key]] = result
        del future, result
    return out


def dask_history_aggregates(
    client: Client, promotions: dd.DataFrame, ctx: HistoryContext, directory: Path | None = None
) -> Generator[HistoryAggregates, None, None]:
    """The history aggregates at each of ``ctx.cutoffs`` in turn, computed on the cluster one cutoff at a time:
    the workers hold one cutoff's partition results until the driver fetches them (the partitions are read once per
    cutoff), and the driver one cutoff's aggregates (the caller drops each before the next is assembled).
    ``directory``: where the promotions shuffled by product are written (:func:`product_buckets`; removed once the
    last cutoff is computed)."""
    import dask

    shape = (len(ctx.creators), len(ctx.products))
    by_product = product_buckets(promotions, None if directory is None else directory / BY_PRODUCT)
    scattered: Future = client.scatter(ctx, broadcast=True)
    creator, product = dask.delayed(creator_task, pure=True), dask.delayed(product_task, pure=True)
    try:
        for k in range(len(ctx.cutoffs)):
            c_tasks = [creator(p, scattered, k) for p in promotions.to_delayed()]
            p_tasks = [product(p, scattered, k) for p in by_product.to_delayed()]
            results = _gathered(client, c_tasks + p_tasks)
            del c_tasks, p_tasks
            n = promotions.npartitions
            aggregates = assemble(results[:n], results[n:], ctx.inputs, shape)
            del results  # copied into the aggregates
            yield aggregates
            del aggregates
    finally:
        del by_product
        if directory is not None:
            shutil.rmtree(directory / BY_PRODUCT, ignore_errors=True)
