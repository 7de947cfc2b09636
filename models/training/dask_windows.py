"""Label windows out of core: the per-(creator, product) outcome sums of each window computed partition by partition
on Dask workers, with the same :func:`models.training.windows.window_pairs` the in-memory path runs.

The promotions arrive as a ``dask.dataframe`` with all of a creator's promotions in one partition (creator-hash
buckets, see ``recsys export --partitioned``), so a pair's sums never span partitions: each partition's
``window_pairs`` output is final, and concatenating them in (creator row, product row) order gives exactly the
in-memory frame. The windows' feature tables are built on the driver from the history aggregates the workers
compute (:mod:`models.training.dask_history`): per creator, product and pair, never per promotion.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from features.history import OUTCOME_COLUMNS
from features.history_aggregates import HistoryInputs, table_categories
from features.tables import FeatureTables, build_feature_tables
from models.bundle import data_hash
from models.training.dask_history import HistoryContext, dask_history_aggregates
from models.training.table_spill import spill_tables
from models.training.windows import LabelWindow, window_pairs
from recsys.core.schema import Marketplace
from recsys.core.vocab import Vocabulary

if TYPE_CHECKING:
    import dask.dataframe as dd
    from distributed import Client, Future

HISTORY_COLUMNS = ["creator_id", "product_id", "plan_id", "started_at", "format", *OUTCOME_COLUMNS]


def _digest(frame: pd.DataFrame) -> pd.DataFrame:
    rows = pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes()
    return pd.DataFrame({"rows": [len(frame)], "sha256": [hashlib.sha256(rows).hexdigest()]})


def promotion_summary(promotions: dd.DataFrame) -> tuple[pd.Timestamp | None, pd.DataFrame]:
    """The latest promotion start (None without promotions) and one row per partition with its number of
    promotions and a sha256 of their :data:`HISTORY_COLUMNS` (what the bundle's data hash covers), from the
    workers."""
    import dask

    slim = promotions[HISTORY_COLUMNS]
    digest = slim.map_partitions(_digest, meta={"rows": "int64", "sha256": "object"})
    latest, frame = dask.compute(slim["started_at"].max(), digest)
    return (None if pd.isna(latest) else pd.Timestamp(latest)), frame.reset_index(drop=True)


def dask_data_hash(entities: Marketplace, digest: pd.DataFrame) -> str:
    """The bundle's data hash for a Dask run (``save_bundle(..., data_digest=)``): the entity tables and sample
    requests hashed as the in-memory path hashes them, then each partition's promotion count and digest
    (:func:`promotion_summary`) in partition order, so it changes with any promotion. It differs from the in-memory
    path's hash of the same data (the promotions are never in one place to hash them as it does)."""
    combined = hashlib.sha256(data_hash(entities).encode())
    for rows, sha in zip(digest["rows"].tolist(), digest["sha256"].tolist(), strict=True):
        combined.update(f"{rows}:{sha};".encode())
    return combined.hexdigest()


def dask_tables(
    client: Client,
    entities: Marketplace,
    promotions: dd.DataFrame,
    cutoffs: list[pd.Timestamp],
    experience_scale: int,
    cf_factors: int,
    seed: int,
    spill: Path | None = None,
) -> list[FeatureTables]:
    """``build_feature_tables`` at every cutoff, from history aggregates computed on the cluster one cutoff at a
    time; each cutoff's aggregates are dropped once its tables are built. With ``spill``, each cutoff's tables are
    written there and returned memory-mapped (:mod:`models.training.table_spill`): the driver then holds one
    cutoff's tables in memory at a time."""
    creators, products = entities.creators, entities.products
    inputs = HistoryInputs.of(creators, products, table_categories(creators, products))
    ctx = HistoryContext(pd.Index(creators["creator_id"]), pd.Index(products["product_id"]), inputs, tuple(cutoffs))
    out: list[FeatureTables] = []
    # next() rather than zip/enumerate over the generator: those keep their last item (this cutoff's aggregates,
    # ~GBs at 20M) referenced until they produce the next one, i.e. through the next cutoff's computation
    history = dask_history_aggregates(client, promotions, ctx, spill)
    try:
        for k, cutoff in enumerate(cutoffs):
            agg = next(history)
            tables = build_feature_tables(entities, cutoff, experience_scale, cf_factors, seed, aggregates=agg)
            del agg
            # every cutoff's tables share the first one's id vocabularies (a new one holds 4M id strings at 20M)
            ids = (out[0].creators, out[0].products) if out else None
            out.append(tables if spill is None else spill_tables(tables, spill, k, vocabularies=ids))
            del tables
    finally:
        history.close()  # the promotions shuffled by product are released (and their files removed)
    return out


def vocab_tables(creators: Vocabulary, products: Vocabulary, cutoff: pd.Timestamp) -> FeatureTables:
    """Feature tables holding only the id vocabularies: all ``window_pairs`` reads, cheap to ship to workers."""
    empty = np.empty((0, 0), dtype=np.float32)
    return FeatureTables(cutoff, creators, products, [], [], [], [], empty, empty)


def partition_pairs(
    part: pd.DataFrame, vocab: FeatureTables, plans: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp
) -> pd.DataFrame:
    """One partition's window pairs (runs on a worker)."""
    none = part.iloc[:0]
    market = Marketplace(merchants=none, products=none, creators=none, plans=plans, promotions=part, orders=none)
    return window_pairs(market, vocab, start, end)


def dask_window_pairs(
    client: Client, promotions: dd.DataFrame, vocab: Future, plans_f: Future, start: pd.Timestamp, end: pd.Timestamp
) -> pd.DataFrame:
    """``window_pairs`` over every partition on the cluster (``vocab``, ``plans_f``: the scattered
    :func:`vocab_tables` and plans), gathered in the in-memory path's order."""
    import dask

    task = dask.delayed(partition_pairs, pure=True)
    parts = client.compute([task(p, vocab, plans_f, start, end) for p in promotions.to_delayed()], sync=True)
    frames = [f for f in parts if len(f)]
    if not frames:  # no promotion in the window: one partition's (empty) frame has the columns
        return parts[0]
    pairs = pd.concat(frames, ignore_index=True)
    return pairs.sort_values(["c_row", "p_row"], kind="stable").reset_index(drop=True)


def window_bounds(
    end: pd.Timestamp, label_days: int, train_windows: int, valid_days: int
) -> tuple[list[tuple[pd.Timestamp, pd.Timestamp]], tuple[pd.Timestamp, pd.Timestamp]]:
    """The training windows (oldest first) and the validation window, as ``make_windows`` cuts them."""
    valid_start = end - pd.Timedelta(days=valid_days)
    train = []
    for i in range(train_windows, 0, -1):
        w_end = valid_start - pd.Timedelta(days=label_days * (i - 1))
        train.append((w_end - pd.Timedelta(days=label_days), w_end))
    return train, (valid_start, end)


def dask_windows(
    client: Client,
    entities: Marketplace,
    promotions: dd.DataFrame,
    end: pd.Timestamp,
    label_days: int,
    train_windows: int,
    valid_days: int,
    experience_scale: int = 100,
    cf_factors: int = 32,
    seed: int = 0,
    spill: Path | None = None,
) -> tuple[list[LabelWindow], LabelWindow, FeatureTables]:
    """``make_windows`` with the history aggregates and the label sums computed on the cluster (``entities``: the
    entity tables; their promotions are not read). Also returns the feature tables as of ``end``. ``spill``: where
    the tables are written and mapped from (:func:`dask_tables`); cutoff ``k`` is window ``k``'s, the last is
    ``end``'s."""
    train, valid = window_bounds(end, label_days, train_windows, valid_days)
    bounds = [*train, valid]
    cutoffs = [start for start, _ in bounds] + [end]
    tables = dask_tables(client, entities, promotions, cutoffs, experience_scale, cf_factors, seed, spill)
    first = tables[0]  # the same id rows at every cutoff (every entity of the tables)
    vocab = client.scatter(vocab_tables(first.creators, first.products, first.cutoff), broadcast=True)
    plans = client.scatter(entities.plans[["plan_id", "commission_rate"]], broadcast=True)
    out = [
        LabelWindow(start, stop, t, dask_window_pairs(client, promotions, vocab, plans, start, stop))
        for (start, stop), t in zip(bounds, tables, strict=False)
    ]
    return out[:-1], out[-1], tables[-1]
