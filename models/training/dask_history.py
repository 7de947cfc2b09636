"""Point-in-time history aggregates on the Dask workers: the driver receives per-creator, per-product and per-pair
arrays (:class:`features.history_aggregates.HistoryAggregates`), never a promotion row.

One pass over the partitions per cutoff of a training run (the workers hold one cutoff's results at a time). The
promotions arrive with all of a creator's promotions in one partition (creator-hash buckets), so each partition, at
each cutoff:

- builds the :class:`features.history.History` of its own creators (creator rows local to the partition) and runs
  :func:`features.history_aggregates.creator_side` and :func:`~features.history_aggregates.pair_side` on it —
  final values for those creators and their pairs, gathered and put at their rows on the driver;
- computes the product-side partial sums (:func:`features.history.window_sums`, distinct creators over 90 days,
  creators and GMV per fan tier), which ``dask.dataframe`` adds up per product across partitions on the workers
  (a creator sits in one partition, so "distinct creators" counts add up too);
- lists (product, promoter's log followers) per promotion, whose per-product median ``dask.dataframe`` computes after
  a shuffle by product (exact: the same values, the same pandas median).

The products' final figures then go through :func:`~features.history_aggregates.product_side`, the function the
in-memory path uses, so both paths build equal tables (float sums added in another order may differ in the last
bits; counts, minima and medians are exact).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from features.evidence import CATEGORY_DAYS, N_FAN_TIERS, product_sales_by_fan_tier
from features.history import History, distinct_partners, window_sums
from features.history_aggregates import (
    PAIR_ARRAYS,
    PARTNER_DAYS,
    HistoryAggregates,
    HistoryInputs,
    creator_side,
    history_aggregates,
    pair_side,
    product_side,
)
from recsys.core.schema import PROMOTION_FORMATS

if TYPE_CHECKING:
    import dask.dataframe as dd
    from distributed import Client, Future

TIER_COLUMNS = [f"tier_creators_{t}" for t in range(N_FAN_TIERS)] + [f"tier_gmv_{t}" for t in range(N_FAN_TIERS)]


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


def product_partial(history: History, tier: np.ndarray, k: int) -> pd.DataFrame:
    """Per product of the partition: the additive figures of its promotions here (``tier``: fan tier per local
    creator), with the cutoff's number ``k``."""
    products, codes = np.unique(history.p, return_inverse=True)
    local = replace(history, p=codes.astype(np.int64), n_products=len(products))
    columns = window_sums(local.p, local.n_products, local.age_days, local.outcomes)
    columns["partners"] = distinct_partners(local, PARTNER_DAYS)
    creators, gmv = product_sales_by_fan_tier(local, tier, CATEGORY_DAYS)
    columns.update(zip(TIER_COLUMNS, np.hstack([creators, gmv]).T, strict=True))
    # float64 throughout (counts stay exact below 2**53): every partition's frame, even an empty one, has one dtype
    frame = pd.DataFrame({name: np.asarray(values, dtype=np.float64) for name, values in columns.items()})
    frame.insert(0, "p", products)
    frame.insert(0, "k", k)
    return frame


def partition_aggregates(
    part: pd.DataFrame, ctx: HistoryContext, k: int
) -> tuple[CreatorPart, pd.DataFrame, pd.DataFrame]:
    """One partition at cutoff ``k`` (runs on a worker): its creator part, product partial sums, promoters' sizes."""
    history, rows = local_history(part, ctx, ctx.cutoffs[k])
    tier = ctx.inputs.creator_tier()[rows]
    size = ctx.inputs.log_followers()[rows][history.c]
    promoters = pd.DataFrame({"k": k, "p": history.p, "v": size})
    return creator_part(history, rows, ctx.inputs), product_partial(history, tier, k), promoters


def _pick(result: tuple[Any, ...], i: int) -> Any:
    return result[i]


def product_totals(frame: dd.DataFrame, promoters: dd.DataFrame, client: Client) -> tuple[dd.DataFrame, dd.DataFrame]:
    """Per (cutoff, product): the partial figures added up across partitions (a groupby whose reduction runs on the
    workers) and the median log followers of its promoters (a groupby median after a shuffle by product), persisted on
    the workers; :func:`cutoff_totals` fetches one cutoff."""
    spec = {col: "min" if col == "newest" else "sum" for col in frame.columns if col not in ("k", "p")}
    split = max(1, frame.npartitions // 8)  # the totals of a large catalogue are spread over a few workers
    sums = frame.groupby(["k", "p"]).agg(spec, split_out=split).reset_index()
    medians = promoters.groupby(["k", "p"])["v"].median(shuffle_method="tasks").reset_index()
    persisted: tuple[dd.DataFrame, dd.DataFrame] = client.persist((sums, medians))
    return persisted


def cutoff_totals(totals: tuple[dd.DataFrame, dd.DataFrame], k: int, n: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Cutoff ``k``'s product figures (``n`` rows; no promotion: zero sums, ``inf`` newest) and promoters' median
    sizes (NaN without promoters)."""
    sums, medians = (part[part["k"] == k] for part in totals)
    frame, median = sums.compute(), medians.compute()
    frame = frame.drop(columns="k").set_index("p")
    fill = {col: np.inf if col == "newest" else 0.0 for col in frame.columns}
    typical = np.full(n, np.nan)
    typical[median["p"].to_numpy(np.int64)] = median["v"].to_numpy(np.float64)
    return frame.reindex(range(n)).fillna(fill), typical


def assemble(
    parts: list[CreatorPart], sums: pd.DataFrame, typical: np.ndarray, inputs: HistoryInputs, shape: tuple[int, int]
) -> HistoryAggregates:
    """The cutoff's :class:`HistoryAggregates` from the partitions' creator parts and the products' totals;
    entities without any promotion keep the values of an empty history."""
    out = history_aggregates(History.empty(*shape), inputs)
    for part in parts:
        out.creator_windows.iloc[part.rows] = part.windows.to_numpy()
        for name, values in part.arrays.items():
            out.arrays[name][part.rows] = values
    columns = {col: sums[col].to_numpy() for col in sums.columns}
    tier = sums[TIER_COLUMNS].to_numpy()
    tiers = (tier[:, :N_FAN_TIERS].astype(np.int32), tier[:, N_FAN_TIERS:].astype(np.float64))
    out.product_windows, p_arrays = product_side(columns, columns["partners"], tiers, typical)
    out.arrays.update(p_arrays)
    keys = np.concatenate([part.pairs["pair_keys"] for part in parts]) if parts else np.zeros(0, np.int64)
    order = np.argsort(keys, kind="stable")
    for name in PAIR_ARRAYS:
        out.arrays[name] = np.concatenate([part.pairs[name] for part in parts])[order] if parts else out.arrays[name]
    if parts:
        out.cf_entries = tuple(np.concatenate([p.cf_entries[i] for p in parts]) for i in range(3))  # type: ignore[assignment]
    return out


def dask_history_aggregates(
    client: Client, promotions: dd.DataFrame, ctx: HistoryContext
) -> Iterator[HistoryAggregates]:
    """The history aggregates at each of ``ctx.cutoffs`` in turn, computed on the cluster one cutoff at a time: the
    workers hold one cutoff's partition results (released before the next cutoff is computed, at the cost of reading
    the partitions once per cutoff), and the driver one cutoff's aggregates (the caller drops each before the next
    is assembled). At 5M promotions, holding every cutoff's results at once took ~10.8 GiB of the workers."""
    import dask
    import dask.dataframe as dd

    shape = (len(ctx.creators), len(ctx.products))
    scattered: Future = client.scatter(ctx, broadcast=True)
    task = dask.delayed(partition_aggregates, pure=True)
    for k in range(len(ctx.cutoffs)):
        results = client.compute([task(p, scattered, k) for p in promotions.to_delayed()])
        meta = partition_aggregates(promotions._meta, ctx, k)
        frame = dd.from_delayed([client.submit(_pick, r, 1) for r in results], meta=meta[1])
        promoters = dd.from_delayed([client.submit(_pick, r, 2) for r in results], meta=meta[2])
        totals = product_totals(frame, promoters, client)
        parts = client.gather([client.submit(_pick, r, 0) for r in results])
        sums, typical = cutoff_totals(totals, k, shape[1])
        del results, frame, promoters, totals  # this cutoff's futures: the workers drop their results
        aggregates = assemble(parts, sums, typical, ctx.inputs, shape)
        # released before the caller builds the tables (the parts are copied into the aggregates; at 20M the sums
        # are 4M rows of ~25 floats)
        del parts, sums, typical
        yield aggregates
        del aggregates
