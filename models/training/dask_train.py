"""``train_engine`` on a Dask cluster: the same engine and bundle, built from promotions that never sit whole in one
process as raw rows, with the LightGBM models grown across the workers.

Steps (``recsys train --engine dask``):

1. the promotions (a ``dask.dataframe``, creator-hash partitions) stay on the workers: the point-in-time history
   aggregates of every cutoff (:mod:`models.training.dask_history`) and the label windows' outcome sums
   (:mod:`models.training.dask_windows`) are computed there with the in-memory path's own functions, and the
   driver builds the feature tables from per-creator, per-product and per-pair arrays;
2. training rows are chosen on the driver as in-memory (negatives, query groups, the ``ranker.max_train_rows``
   budget) but kept as row indices; their feature vectors are gathered on the workers
   (:mod:`models.training.dask_lgbm`);
3. the number of trees of every model is chosen by an in-memory run with early stopping on a seeded sample of at
   most ``SAMPLE_ROWS`` rows (LightGBM's Dask interface has no early stopping), then the rankers, the GMV model
   and the content model are grown to that many trees with ``DaskLGBMRanker`` / ``DaskLGBMRegressor`` and
   converted to their plain boosters;
4. validation NDCG, GMV calibration, the features as of now, integrity flags and the FAISS retrieval are built as in
   :func:`models.training.train.train_engine`, so ``models.bundle.save_bundle`` writes the same bundle format.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from models.engine import Engine
from models.gbm.calibration import QuantileMap
from models.gbm.config import GBMConfig
from models.gbm.distribution import MIN_VIEWS, DistributionModel
from models.gbm.ranker import LambdaRanker
from models.gbm.regressor import GBMRegressor
from models.training.dask_lgbm import (
    RowBlock,
    block_rows,
    dask_matrices,
    fit_dask,
    query_blocks,
    rounds_from_sample,
    row_blocks,
)
from models.training.dask_windows import dask_data_hash, dask_windows, promotion_summary
from models.training.evaluation import mean_ndcg
from models.training.table_spill import TablesOnDisk, forget
from models.training.train import (
    FittedModels,
    RankingSplit,
    calibrate_gmv,
    direction_split,
    finish_engine,
    gmv_windows,
    new_ranker,
    pair_rows,
    popularity_scores,
    timed,
    train_outcome_models,
    train_rankers,
)
from models.training.windows import Groups, LabelWindow, add_negatives, query_groups
from recsys.core.config import Settings
from recsys.core.schema import Marketplace
from recsys.core.vocab import DIRECTIONS, Direction

if TYPE_CHECKING:
    import dask.dataframe as dd
    from distributed import Client, Future

SAMPLE_ROWS = 200_000  # rows of the in-memory run that picks each model's number of trees
PREDICT_ROWS = 100_000  # validation rows scored at a time on the driver


Drop = tuple[np.ndarray, np.ndarray] | None


def dropout_marks(n: int, rate: float, rng: np.random.Generator) -> Drop:
    """The rows whose creator / product history ``history_dropout`` blanks, drawn from ``rng`` as it draws them."""
    if rate <= 0 or n == 0:
        return None
    return rng.random(n) < rate, rng.random(n) < rate


def direction_groups(
    windows: list[LabelWindow],
    direction: Direction,
    settings: Settings,
    negatives: int,
    seed: int,
    max_rows: int | None,
    dropout: float = 0.0,
) -> list[tuple[int, Groups, Drop]]:
    """The query groups and dropout marks ``direction_split`` draws for each window (the same seeded stream),
    without their feature vectors."""
    r, rng, out = settings.ranker, np.random.default_rng(seed), []
    for i, w in enumerate(windows):
        pairs = add_negatives(w.pairs, w.tables, direction, negatives, rng)
        g = query_groups(pairs, direction, r.relevance, r.relevance_resolution, max_size=r.max_query_size, seed=seed)
        if max_rows is not None:
            g = g.sample_queries(max_rows // len(windows), rng)
        out.append((i, g, dropout_marks(len(g.c_rows), dropout, rng)))
    return out


def _cut(drop: Drop, rows: slice | np.ndarray) -> Drop:
    return None if drop is None else (drop[0][rows], drop[1][rows])


def ranking_blocks(groups: list[tuple[int, Groups, Drop]], workers: int) -> list[RowBlock]:
    """Query-aligned blocks of every window's groups (each query inside one block), in the in-memory row order."""
    blocks: list[RowBlock] = []
    rows = block_rows(sum(len(g.c_rows) for _, g, _ in groups), workers)
    for i, g, drop in groups:
        starts = np.r_[0, np.cumsum(g.group_sizes)]
        for qs in query_blocks(g.group_sizes, rows):
            s = slice(int(starts[qs.start]), int(starts[qs.stop]))
            blocks.append(
                RowBlock(
                    i, g.c_rows[s], g.p_rows[s], g.rate[s], g.fmt[s], g.labels[s], g.group_sizes[qs], _cut(drop, s)
                )
            )
    return blocks


def pair_blocks(
    windows: list[LabelWindow], seed: int, max_rows: int, dropout: float, workers: int
) -> dict[str, list[RowBlock]]:
    """The windows' pairs as ``pair_rows`` samples them (same seeded stream, same dropout marks), as blocks
    labelled with GMV (``"gmv"``) and, for the promotions with enough views, log(1 + GPM) (``"gpm"``)."""
    rng = np.random.default_rng(seed)
    out: dict[str, list[list[RowBlock]]] = {"gmv": [], "gpm": []}
    rows = block_rows(sum(min(len(w.pairs), max_rows // len(windows)) for w in windows), workers)
    for i, w in enumerate(windows):
        pairs = w.pairs
        if len(pairs) > max_rows // len(windows):
            pairs = pairs.iloc[np.sort(rng.choice(len(pairs), max_rows // len(windows), replace=False))]
        c, p = pairs["c_row"].to_numpy(np.int64), pairs["p_row"].to_numpy(np.int64)
        rate, fmt = pairs["rate"].to_numpy(np.float64), pairs["format_code"].to_numpy(np.int64)
        gmv, views = pairs["gmv"].to_numpy(np.float64), pairs["views"].to_numpy(np.float64)
        drop = dropout_marks(len(pairs), dropout, rng)
        seen = np.flatnonzero(views >= MIN_VIEWS)
        gpm = np.log1p(1000 * gmv[seen] / views[seen])
        out["gmv"].append(
            [
                RowBlock(i, c[s], p[s], rate[s], fmt[s], gmv[s], None, _cut(drop, s))
                for s in row_blocks(len(pairs), rows)
            ]
        )
        out["gpm"].append(
            [
                RowBlock(i, c[k], p[k], rate[k], fmt[k], gpm[s], None, _cut(drop, k))
                for s in row_blocks(len(seen), rows)
                for k in [seen[s]]
            ]
        )
    return {target: [b for window in blocks for b in window] for target, blocks in out.items()}


def _sampled(settings: Settings) -> Settings:
    ranker = settings.ranker.model_copy(update={"max_train_rows": min(settings.ranker.max_train_rows, SAMPLE_ROWS)})
    return settings.model_copy(update={"ranker": ranker})


def dask_rankers(
    client: Client,
    tables: list[Future],
    windows: list[LabelWindow],
    valid: LabelWindow,
    names: list[str],
    settings: Settings,
    seed: int,
    metrics: dict[str, Any],
) -> dict[Direction, LambdaRanker]:
    """Rankers grown on the cluster to the tree count an in-memory sampled run stopped at."""
    r, sample = settings.ranker, _sampled(settings).ranker.max_train_rows
    negatives = {Direction.CREATOR: r.negatives_per_creator_query, Direction.PRODUCT: r.negatives_per_product_query}
    probe_train: dict[Direction, RankingSplit] = {
        d: direction_split(windows, d, settings, negatives[d], seed, r.history_dropout, sample) for d in DIRECTIONS
    }
    probe_stop = {
        d: direction_split([valid], d, settings, negatives[d], seed + 1, 0.0, sample // 2) for d in DIRECTIONS
    }
    if any(probe_train[d].groups.n_queries == 0 for d in DIRECTIONS):
        raise ValueError("not enough promotions to form queries in the training windows")
    probes = train_rankers(probe_train, probe_stop, names, settings, seed)
    groups = {
        d: direction_groups(windows, d, settings, negatives[d], seed, r.max_train_rows, r.history_dropout)
        for d in DIRECTIONS
    }
    for d in DIRECTIONS:
        metrics[f"{d}_train_queries"] = sum(g.n_queries for _, g, _ in groups[d])
        metrics[f"{d}_trees_from_sample"] = probes[d].best_iteration_
    models: dict[Direction, LambdaRanker] = {}
    workers = _workers(client)
    for ds in [tuple(DIRECTIONS)] if r.mode == "shared" else [(d,) for d in DIRECTIONS]:
        blocks = [b for d in ds for b in ranking_blocks(groups[d], workers)]
        X, y, g = dask_matrices(client, tables, blocks, len(names))
        model = new_ranker(settings, seed)
        bin_sample = np.vstack([probe_train[d].X for d in ds])
        fit_dask(model, client, X, y, g, rounds_from_sample(probes[ds[0]]), names, bin_sample)
        models.update(dict.fromkeys(ds, model))
    return models


def dask_outcome_models(
    client: Client,
    tables: list[Future],
    windows: list[LabelWindow],
    valid: LabelWindow,
    names: list[str],
    settings: Settings,
    seed: int,
) -> tuple[GBMRegressor, DistributionModel]:
    """The GMV and content models grown on the cluster (tree counts from an in-memory sampled run)."""
    r = settings.ranker
    sampled = _sampled(settings)
    probe_gmv, probe_dist = train_outcome_models(windows, valid, names, sampled, seed)
    sample, _, sample_views = pair_rows(windows, r.history_dropout, seed, sampled.ranker.max_train_rows)
    gbm = GBMConfig.from_settings(r, seed)
    gmv = GBMRegressor(objective="tweedie", **GBMConfig.for_gmv(r, seed).kwargs())
    blocks = pair_blocks(windows, seed, r.max_train_rows, r.history_dropout, _workers(client))
    gmv_blocks, gmv_sample = blocks["gmv"], sample
    if r.gmv_pairs == "new":  # the GMV model learns from new collaborations only (train.gmv_windows)
        learned = gmv_windows(windows, r)
        gmv_blocks = pair_blocks(learned, seed, r.max_train_rows, r.history_dropout, _workers(client))["gmv"]
        gmv_sample = pair_rows(learned, r.history_dropout, seed, sampled.ranker.max_train_rows)[0]
    X, y, _ = dask_matrices(client, tables, gmv_blocks, len(names))
    fit_dask(gmv, client, X, y, None, rounds_from_sample(probe_gmv), names, gmv_sample)
    distribution = DistributionModel(**gbm.kwargs())
    regressor = GBMRegressor(objective="regression", **gbm.kwargs())
    X, y, _ = dask_matrices(client, tables, blocks["gpm"], len(names))
    seen = sample[sample_views >= MIN_VIEWS]
    fit_dask(regressor, client, X, y, None, rounds_from_sample(probe_dist.regressor_), names, seen)
    distribution.regressor_ = regressor
    distribution.weight_map_ = probe_dist.weight_map_  # replaced by the list-like reference below
    return gmv, distribution


def _workers(client: Client) -> int:
    return max(1, len(client.scheduler_info()["workers"]))


def held_scores(ranker: LambdaRanker, window: LabelWindow, groups: Groups) -> np.ndarray:
    """The ranker's scores of the validation groups, gathered and scored ``PREDICT_ROWS`` at a time."""
    out = [
        ranker.predict(window.tables.vectors(groups.c_rows[s], groups.p_rows[s], groups.rate[s], groups.fmt[s]))
        for s in row_blocks(len(groups.c_rows), PREDICT_ROWS)
    ]
    return np.concatenate(out) if out else np.empty(0)


def _validate(
    rankers: dict[Direction, LambdaRanker], valid: LabelWindow, settings: Settings, metrics: dict[str, Any]
) -> dict[Direction, QuantileMap]:
    fit_maps: dict[Direction, QuantileMap] = {}
    for d in DIRECTIONS:
        held = direction_groups([valid], d, settings, 0, 0, None)[0][1]  # as direction_split([valid], d, settings)
        if held.n_queries == 0:
            raise ValueError(f"not enough promotions to form {d} queries in the validation window")
        scores = held_scores(rankers[d], valid, held)
        fit_maps[d] = QuantileMap.fit(scores)
        split = RankingSplit(held, np.empty((0, 0), np.float32))
        metrics[f"{d}_ndcg@10"] = mean_ndcg(held, scores)
        metrics[f"{d}_popularity_ndcg@10"] = mean_ndcg(held, popularity_scores(split, valid.tables))
        metrics[f"{d}_valid_queries"] = held.n_queries
        metrics[f"{d}_best_iteration"] = rankers[d].best_iteration_
    return fit_maps


def train_engine_dask(
    client: Client,
    entities: Marketplace,
    promotions: dd.DataFrame,
    settings: Settings,
    seed: int,
    spill: Path | None = None,
) -> tuple[Engine, str]:
    """Fit every part of the engine on the cluster; returns it with the data hash its bundle records
    (:func:`~models.training.dask_windows.dask_data_hash`: ``save_bundle(engine, root, entities, ...,
    data_digest=...)``). The driver never holds the promotions: it receives history aggregates and label sums.

    ``spill``: a directory every worker can read, where the feature tables are written and mapped from
    (:mod:`models.training.table_spill`; the returned engine's tables are mapped from it, so it must outlive the
    engine's use, e.g. ``save_bundle``); without it the tables stay in memory and every worker receives a copy."""
    r, started = settings.ranker, time.perf_counter()
    stage_seconds: dict[str, float] = {}
    scale, cf = settings.rules.experience_scale, settings.retrieval.cf_factors
    with timed(stage_seconds, "history", "summarizing the promotions on the Dask workers"):
        latest, digest = promotion_summary(promotions)
    if latest is None:
        raise ValueError("the marketplace has no promotions to learn from")
    with timed(stage_seconds, "features_windows", "building point-in-time features (history and label sums on Dask)"):
        end = latest.normalize() + pd.Timedelta(days=1)  # data_now: the day after the last promotion started
        windows, valid, tables_now = dask_windows(
            client, entities, promotions, end, r.label_days, r.train_windows, r.valid_days, scale, cf, seed, spill
        )
    names = valid.tables.feature_names
    if any(w.tables.feature_names != names for w in windows):
        raise ValueError("feature names differ between windows; the data's extra columns changed over time")
    metrics: dict[str, Any] = {"valid_window": [str(valid.start), str(valid.end)], "engine": "dask"}
    # every worker gathers any block: the tables' paths when spilled, else a copy of the tables on every worker
    shipped = [w.tables if spill is None else TablesOnDisk.at(spill, k) for k, w in enumerate(windows)]
    tables = [client.scatter(t, broadcast=True) for t in shipped]
    with timed(stage_seconds, "rankers", "training LambdaRank rankers on Dask"):
        rankers = dask_rankers(client, tables, windows, valid, names, settings, seed, metrics)
    with timed(stage_seconds, "outcome_models", "training GMV and content distribution models on Dask"):
        gmv, distribution = dask_outcome_models(client, tables, windows, valid, names, settings, seed)
        gmv_calibration = calibrate_gmv(gmv, valid, settings)
    fit_maps = _validate(rankers, valid, settings, metrics)
    metrics["dask_workers"] = _workers(client)
    metrics["trees_chosen_on_sample_rows"] = _sampled(settings).ranker.max_train_rows
    models = FittedModels(rankers, gmv, distribution, fit_maps, gmv_calibration)
    clock, train_pairs = (started, stage_seconds), sum(len(w.pairs) for w in windows)
    client.cancel(tables)  # the windows' tables on the workers, then on the driver: finishing needs only today's
    if spill is not None:
        client.run(forget)
    del windows, valid, tables
    engine = finish_engine(entities, end, models, train_pairs, settings, seed, metrics, clock, tables_now)
    engine.metrics["sizes"]["promotions"] = int(digest["rows"].sum())  # ``entities`` holds none of them
    return engine, dask_data_hash(entities, digest)
