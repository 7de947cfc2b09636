"""LightGBM on Dask: training matrices assembled block by block on the workers, trees grown by LightGBM's Dask
interface (``DaskLGBMRanker`` / ``DaskLGBMRegressor``), the result converted to this project's estimators.

Blocks keep the in-memory path's row order. A model of at most ``BLOCK_ROWS`` training rows is one partition and
so trains on one worker: distributing it buys nothing, and splitting rows over machines changes the order of
LightGBM's floating-point histogram sums, which at that size alone moves validation NDCG by about 0.02 (measured
on the test marketplace; so does merely reordering the rows in one process).

The full training matrices never gather in one process (only the sample of the early-stopping run below does): the
driver holds row indices (creator row, product row, rate, format) and labels; each block's feature vectors are
gathered from the window's feature tables — mapped from the run's spill directory
(:mod:`models.training.table_spill`), or else broadcast to the workers once — by :meth:`FeatureTables.vectors` on a
worker, exactly as the in-memory path gathers them, with the history dropout marks the in-memory path would draw
(drawn on the driver from the same seeded stream, so both paths train on the same rows). Ranking blocks are cut at
query boundaries, so every query stays inside one partition, which LightGBM's Dask ranker requires.

LightGBM's Dask interface builds each worker's histogram bins from that worker's rows only, so the trees differ
from the in-memory path's (bins from half the rows: creator NDCG 0.014–0.017 lower on the test marketplace). The
bins are therefore fixed on the driver from a sample — the rows of the sampled in-memory run below, as LightGBM
itself bins on a sample of ``bin_construct_sample_cnt`` = 200,000 rows — and forced on every worker
(``forcedbins_filename``).

LightGBM's Dask interface has no early stopping (lightgbm-org/LightGBM#3712, #4189; eval sets with early stopping
hang or reset sockets, #6351, #6197). The number of trees is therefore chosen beforehand by an in-memory run with
early stopping on a seeded sample (:func:`rounds_from_sample`), and the Dask model is grown to exactly that many.
"""

from __future__ import annotations

import json
import os
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from features.dropout import blank_history
from features.names import CATEGORICAL_FEATURES
from features.tables import FeatureTables
from models.gbm.base import BoostedTrees
from models.training.table_spill import TablesOnDisk

if TYPE_CHECKING:
    import dask.array as da
    from distributed import Client, Future

BLOCK_ROWS = 50_000  # most rows per training partition (per worker task); ranking blocks end at a query boundary
MIN_BLOCK_ROWS = 1_000


@dataclass
class RowBlock:
    """One partition's row indices into one window's feature tables, with its labels (and query sizes)."""

    window: int
    c_rows: np.ndarray
    p_rows: np.ndarray
    rate: np.ndarray
    fmt: np.ndarray
    labels: np.ndarray
    group_sizes: np.ndarray | None = None  # ranking only
    drop: tuple[np.ndarray, np.ndarray] | None = None  # history dropout marks (creator, product), drawn on the driver


def block_vectors(tables: FeatureTables | TablesOnDisk, block: RowBlock) -> np.ndarray:
    """A block's feature vectors with its history dropout applied (runs on a worker; tables on disk are mapped)."""
    if isinstance(tables, TablesOnDisk):
        tables = tables.open()
    X = tables.vectors(block.c_rows, block.p_rows, block.rate, block.fmt)
    if block.drop is None:
        return X
    return blank_history(X, tables, block.c_rows, block.p_rows, *block.drop)


def query_blocks(sizes: np.ndarray, rows: int | None = None) -> list[slice]:
    """Consecutive runs of whole queries of about ``rows`` (default ``BLOCK_ROWS``) rows each (query slices)."""
    rows = rows or BLOCK_ROWS
    out, start, filled = [], 0, 0
    for q, size in enumerate(sizes):
        filled += int(size)
        if filled >= rows:
            out.append(slice(start, q + 1))
            start, filled = q + 1, 0
    if start < len(sizes):
        out.append(slice(start, len(sizes)))
    return out


def block_rows(total: int, workers: int) -> int:
    """Rows per block: about four blocks per worker, within [``MIN_BLOCK_ROWS``, ``BLOCK_ROWS``] (work for every
    worker, few tasks)."""
    return max(MIN_BLOCK_ROWS, min(BLOCK_ROWS, -(-total // max(1, 4 * workers))))


def row_blocks(n: int, rows: int | None = None) -> list[slice]:
    """Consecutive row slices of ``rows`` (default ``BLOCK_ROWS``) rows."""
    rows = rows or BLOCK_ROWS
    return [slice(s, min(n, s + rows)) for s in range(0, n, rows)]


def dask_matrices(
    client: Client,
    tables: list[Future],
    blocks: list[RowBlock],
    n_features: int,
) -> tuple[da.Array, da.Array, da.Array | None]:
    """(X, y, group) as Dask arrays with one chunk per block; X's chunks are computed on the workers."""
    import dask
    import dask.array as da

    build = dask.delayed(block_vectors, pure=True)
    xs = [
        da.from_delayed(build(tables[b.window], b), shape=(len(b.c_rows), n_features), dtype=np.float32) for b in blocks
    ]
    X = da.concatenate(xs, axis=0)
    y = da.concatenate([da.from_array(b.labels, chunks=len(b.labels)) for b in blocks])
    group = None
    if blocks and blocks[0].group_sizes is not None:
        group = da.concatenate([da.from_array(b.group_sizes, chunks=len(b.group_sizes)) for b in blocks])  # type: ignore[arg-type]
    if X.shape[0] <= BLOCK_ROWS:  # one partition, one LightGBM machine: the in-memory path's rows, in its order
        X, y = X.rechunk({0: X.shape[0]}), y.rechunk(y.shape[0])
        group = None if group is None else group.rechunk(group.shape[0])
    return X, y, group


def bin_bounds(X: np.ndarray, feature_names: list[str]) -> list[dict[str, Any]]:
    """The upper bounds of the bins LightGBM gives each numeric feature of ``X`` (a sample), in the form of its
    ``forcedbins_filename`` file: midway between the largest value of a bin and the smallest of the next.

    LightGBM has no public accessor for a Dataset's bins; its text dump (bin index per row) is read instead."""
    import lightgbm as lgb

    cats = [c for c in CATEGORICAL_FEATURES if c in feature_names]
    data = lgb.Dataset(X, feature_name=feature_names, categorical_feature=cats or "auto", params={"verbosity": -1})
    with tempfile.TemporaryDirectory() as tmp:
        dump = Path(tmp) / "bins.txt"
        data.construct()._dump_text(str(dump))
        with dump.open() as f:
            header = [next(f) for _ in range(5)]
        used = [n.strip() for n in header[4].split(":", 1)[1].split(",") if n.strip()]
        skip = next(i for i, line in enumerate(dump.open()) if line[:1].isdigit())
        bins = pd.read_csv(dump, skiprows=skip, header=None, usecols=range(len(used))).to_numpy()
    out = []
    for j, name in enumerate(used):
        if name in cats:
            continue
        col = feature_names.index(name)
        values = X[:, col].astype(np.float64)
        known = ~np.isnan(values)
        span = pd.DataFrame({"b": bins[known, j], "v": values[known]}).groupby("b")["v"].agg(["min", "max"])
        bounds = (span["max"].to_numpy()[:-1] + span["min"].to_numpy()[1:]) / 2
        out.append({"feature": col, "bin_upper_bound": bounds.tolist()})
    return out


def _write_text(path: str, text: str) -> None:
    Path(path).write_text(text)


def _remove(path: str) -> None:
    Path(path).unlink(missing_ok=True)


@contextmanager
def forced_bins_on_workers(client: Client, bounds: list[dict[str, Any]]) -> Iterator[str]:
    """``bounds`` written to the same temporary path on every worker (removed afterwards); yields the path."""
    path = os.path.join(tempfile.gettempdir(), f"recsys-forcedbins-{uuid.uuid4().hex}.json")
    client.run(_write_text, path, json.dumps(bounds))
    try:
        yield path
    finally:
        client.run(_remove, path)


def dask_params(model: BoostedTrees) -> dict[str, Any]:
    """The estimator's LightGBM parameters minus those the Dask interface sets itself (threads per worker)."""
    params = dict(model._params())
    params.pop("num_threads", None)
    return params


def fit_dask(
    model: BoostedTrees,
    client: Client,
    X: da.Array,
    y: da.Array,
    group: da.Array | None,
    rounds: int,
    feature_names: list[str],
    bin_sample: np.ndarray,
) -> None:
    """Grow ``rounds`` trees of ``model``'s kind on the cluster, binned as ``bin_sample`` (rows of the training
    data) bins, and attach the booster to ``model`` (in place)."""
    import lightgbm as lgb

    params = dask_params(model)
    cats = [c for c in CATEGORICAL_FEATURES if c in feature_names] or "auto"
    kind = lgb.DaskLGBMRanker if group is not None else lgb.DaskLGBMRegressor
    fit_kwargs: dict[str, Any] = {"feature_name": feature_names, "categorical_feature": cats}
    if group is not None:
        fit_kwargs["group"] = group
    with forced_bins_on_workers(client, bin_bounds(bin_sample, feature_names)) as bins, warnings.catch_warnings():
        # the wrapper's own defaults (n_jobs, eval_at) are overridden by the parameters above, and it says so
        warnings.filterwarnings("ignore", message=r".*(n_jobs will be ignored|Found 'eval_at' in params).*")
        estimator = kind(client=client, n_estimators=rounds, forcedbins_filename=bins, **params)
        estimator.fit(X, y, **fit_kwargs)
    booster = estimator.booster_
    model.booster_ = booster
    model.best_iteration_ = int(booster.current_iteration())
    model.feature_names_ = list(feature_names)
    model.evals_result_ = {}


def rounds_from_sample(model: BoostedTrees) -> int:
    """Trees to grow on Dask: the sampled in-memory run's early-stopping point (at least one)."""
    return max(1, int(model.best_iteration_))
