"""Label windows out of core: the per-(creator, product) outcome sums of each window computed partition by partition
on Dask workers, with the same :func:`models.training.windows.window_pairs` the in-memory path runs.

The promotions arrive as a ``dask.dataframe`` with all of a creator's promotions in one partition (creator-hash
buckets, see ``recsys export --partitioned``), so a pair's sums never span partitions: each partition's
``window_pairs`` output is final, and concatenating them in (creator row, product row) order gives exactly the
in-memory frame. Only the window's feature tables are built on the driver, from a projection of the promotions to
the columns point-in-time features read (ids, start, format, outcome counts).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from features.history import OUTCOME_COLUMNS
from features.tables import FeatureTables, build_feature_tables
from models.training.windows import LabelWindow, window_pairs
from recsys.core.schema import Marketplace
from recsys.core.vocab import Vocabulary

if TYPE_CHECKING:
    import dask.dataframe as dd
    from distributed import Client, Future

HISTORY_COLUMNS = ["creator_id", "product_id", "plan_id", "started_at", "format", *OUTCOME_COLUMNS]


def history_market(entities: Marketplace, promotions: dd.DataFrame) -> Marketplace:
    """The entity tables with the promotions projected to the columns features read (computed on the workers)."""
    slim = promotions[HISTORY_COLUMNS].compute()
    return Marketplace(
        merchants=entities.merchants,
        products=entities.products,
        creators=entities.creators,
        plans=entities.plans,
        promotions=slim.reset_index(drop=True),
        orders=entities.orders,
        sample_requests=entities.sample_requests,  # read by the creator features (features.samples)
    )


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
    market: Marketplace,
    promotions: dd.DataFrame,
    end: pd.Timestamp,
    label_days: int,
    train_windows: int,
    valid_days: int,
    experience_scale: int = 100,
    cf_factors: int = 32,
    seed: int = 0,
) -> tuple[list[LabelWindow], LabelWindow]:
    """``make_windows`` with the label sums computed on the cluster (``market``: :func:`history_market`)."""
    train, (v_start, v_end) = window_bounds(end, label_days, train_windows, valid_days)
    out = []
    vocab, plans = None, client.scatter(market.plans[["plan_id", "commission_rate"]], broadcast=True)
    for start, stop in [*train, (v_start, v_end)]:
        tables = build_feature_tables(market, start, experience_scale, cf_factors, seed)
        if vocab is None:  # the same id rows at every cutoff (every entity of the tables)
            vocab = client.scatter(vocab_tables(tables.creators, tables.products, tables.cutoff), broadcast=True)
        pairs = dask_window_pairs(client, promotions, vocab, plans, start, stop)
        out.append(LabelWindow(start, stop, tables, pairs))
    return out[:-1], out[-1]
