"""Training the matching engine end to end: windows -> rankers, GMV and distribution models -> retrieval.

``train_engine(market, settings, seed)`` returns an :class:`Engine` (every fitted part plus the metrics measured on
the validation window); ``models.bundle`` writes it as a versioned artifact folder.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from features.dropout import history_dropout
from features.names import CATEGORICAL_FEATURES
from features.tables import FeatureTables, build_feature_tables
from models.engine import Engine
from models.gbm.calibration import QuantileMap
from models.gbm.config import GBMConfig
from models.gbm.distribution import MIN_VIEWS, DistributionModel
from models.gbm.gmv_calibration import GMVCalibrator
from models.gbm.ranker import LambdaRanker
from models.gbm.regressor import GBMRegressor
from models.integrity.fake_engagement import engagement_flags
from models.retrieval.build import build_retriever
from models.retrieval.retriever import Retriever
from models.training.evaluation import mean_ndcg
from models.training.windows import (
    Groups,
    LabelWindow,
    add_negatives,
    data_now,
    label_gains,
    make_windows,
    new_pairs,
    query_groups,
)
from recsys.core.config import RankerSettings, Settings
from recsys.core.progress import stage
from recsys.core.schema import Marketplace
from recsys.core.vocab import DIRECTIONS, Direction


@contextmanager
def timed(record: dict[str, float], key: str, description: str) -> Iterator[None]:
    """A progress stage whose wall time is recorded under ``key``."""
    started = time.perf_counter()
    with stage(description):
        yield
    record[key] = round(time.perf_counter() - started, 1)


@dataclass
class RankingSplit:
    """One direction's query groups over some windows and their feature vectors (rows aligned)."""

    groups: Groups
    X: np.ndarray


def direction_split(
    windows: list[LabelWindow],
    direction: Direction,
    settings: Settings,
    negatives: int = 0,
    seed: int = 0,
    dropout: float = 0.0,
    max_rows: int | None = None,
) -> RankingSplit:
    """Query groups of ``direction`` over ``windows`` with their feature vectors (plus sampled negatives, history
    dropout and a row budget — whole queries sampled — for training)."""
    parts = []
    rng = np.random.default_rng(seed)
    for w in windows:
        pairs = add_negatives(w.pairs, w.tables, direction, negatives, rng)
        g = query_groups(
            pairs,
            direction,
            settings.ranker.relevance,
            settings.ranker.relevance_resolution,
            max_size=settings.ranker.max_query_size,
            seed=seed,
        )
        if max_rows is not None:
            g = g.sample_queries(max_rows // len(windows), rng)
        X = w.tables.vectors(g.c_rows, g.p_rows, g.rate, g.fmt)
        parts.append((g, history_dropout(X, w.tables, g.c_rows, g.p_rows, dropout, rng)))
    groups = Groups(
        direction=direction,
        c_rows=np.concatenate([g.c_rows for g, _ in parts]),
        p_rows=np.concatenate([g.p_rows for g, _ in parts]),
        rate=np.concatenate([g.rate for g, _ in parts]),
        fmt=np.concatenate([g.fmt for g, _ in parts]),
        labels=np.concatenate([g.labels for g, _ in parts]),
        gain=np.concatenate([g.gain for g, _ in parts]),
        group_sizes=np.concatenate([g.group_sizes for g, _ in parts]),
        query_rows=np.concatenate([g.query_rows for g, _ in parts]),
    )
    return RankingSplit(groups, np.vstack([x for _, x in parts]))


def new_ranker(settings: Settings, seed: int) -> LambdaRanker:
    """An unfitted LambdaRank ranker with the ``[ranker]`` settings' trees and relevance gains."""
    gbm = GBMConfig.from_settings(settings.ranker, seed)
    return LambdaRanker(**gbm.kwargs(), label_gain=label_gains(settings.ranker.relevance_resolution))


def train_rankers(
    train: dict[Direction, RankingSplit],
    valid: dict[Direction, RankingSplit],
    names: list[str],
    settings: Settings,
    seed: int,
) -> dict[Direction, LambdaRanker]:
    """One LambdaRank model per direction, or one shared by both (``ranker.mode``)."""
    if settings.ranker.mode == "shared":
        X = np.vstack([train[d].X for d in DIRECTIONS])
        y = np.concatenate([train[d].groups.labels for d in DIRECTIONS])
        g = np.concatenate([train[d].groups.group_sizes for d in DIRECTIONS])
        Xv = np.vstack([valid[d].X for d in DIRECTIONS])
        yv = np.concatenate([valid[d].groups.labels for d in DIRECTIONS])
        gv = np.concatenate([valid[d].groups.group_sizes for d in DIRECTIONS])
        shared = new_ranker(settings, seed).fit(X, y, g, names, Xv, yv, gv, CATEGORICAL_FEATURES)
        return dict.fromkeys(DIRECTIONS, shared)
    return {
        d: new_ranker(settings, seed).fit(
            train[d].X,
            train[d].groups.labels,
            train[d].groups.group_sizes,
            names,
            valid[d].X,
            valid[d].groups.labels,
            valid[d].groups.group_sizes,
            CATEGORICAL_FEATURES,
        )
        for d in DIRECTIONS
    }


def pair_rows(
    windows: list[LabelWindow], dropout: float = 0.0, seed: int = 0, max_rows: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The windows' pairs (a seeded sample of at most ``max_rows``): features with history dropout, GMV, views."""
    rng = np.random.default_rng(seed)
    blocks, gmv, views = [], [], []
    for w in windows:
        pairs = w.pairs
        if max_rows is not None and len(pairs) > max_rows // len(windows):
            pairs = pairs.iloc[np.sort(rng.choice(len(pairs), max_rows // len(windows), replace=False))]
        c, p = pairs["c_row"].to_numpy(), pairs["p_row"].to_numpy()
        X = w.tables.vectors(c, p, pairs["rate"].to_numpy(), pairs["format_code"].to_numpy())
        blocks.append(history_dropout(X, w.tables, c, p, dropout, rng))
        gmv.append(pairs["gmv"].to_numpy())
        views.append(pairs["views"].to_numpy())
    return np.vstack(blocks), np.concatenate(gmv), np.concatenate(views)


def gmv_windows(windows: list[LabelWindow], ranker: RankerSettings) -> list[LabelWindow]:
    """The windows as the GMV model learns from them: with ``ranker.gmv_pairs = "new"`` only their new
    collaborations — the pairs a list of new partners ranks; a repeat collaboration's GMV is mostly its history's."""
    if ranker.gmv_pairs == "all":
        return windows
    out = [replace(w, pairs=new_pairs(w)) for w in windows]
    if not any(len(w.pairs) for w in out):
        raise ValueError(
            'no new collaborations in the GMV model\'s label windows: set ranker.gmv_pairs = "all" to learn from '
            "repeat collaborations too"
        )
    return out


def train_outcome_models(
    train_windows: list[LabelWindow], valid: LabelWindow, names: list[str], settings: Settings, seed: int
) -> tuple[GBMRegressor, DistributionModel]:
    """The GMV regressor (tweedie) and the content distribution model, on the windows' pairs (row budget)."""
    r = settings.ranker
    X, gmv, views = pair_rows(train_windows, r.history_dropout, seed, r.max_train_rows)
    Xv, gmv_v, views_v = pair_rows([valid], 0.0, seed + 1, r.max_train_rows // 2)
    Xg, yg, Xgv, ygv = X, gmv, Xv, gmv_v
    if r.gmv_pairs == "new":
        Xg, yg, _ = pair_rows(gmv_windows(train_windows, r), r.history_dropout, seed, r.max_train_rows)
        Xgv, ygv, _ = pair_rows(gmv_windows([valid], r), 0.0, seed + 1, r.max_train_rows // 2)
    regressor = GBMRegressor(objective="tweedie", **GBMConfig.for_gmv(r, seed).kwargs())
    regressor.fit(Xg, yg, names, Xgv, ygv, CATEGORICAL_FEATURES)
    gbm = GBMConfig.from_settings(r, seed)
    seen, seen_v = views >= MIN_VIEWS, views_v >= MIN_VIEWS
    gpm = 1000 * gmv[seen] / views[seen]
    gpm_v = 1000 * gmv_v[seen_v] / views_v[seen_v]
    distribution = DistributionModel(**gbm.kwargs()).fit(X[seen], gpm, names, Xv[seen_v], gpm_v, CATEGORICAL_FEATURES)
    return regressor, distribution


def calibrate_gmv(regressor: GBMRegressor, valid: LabelWindow, settings: Settings) -> GMVCalibrator:
    """Calibrate the GMV model on the validation window's new collaborations (isotonic + conformal interval)."""
    fresh = new_pairs(valid)
    if len(fresh) < 2:
        raise ValueError("not enough new collaborations in the validation window to calibrate predicted GMV")
    c, p = fresh["c_row"].to_numpy(), fresh["p_row"].to_numpy()
    X = valid.tables.vectors(c, p, fresh["rate"].to_numpy(), fresh["format_code"].to_numpy())
    return GMVCalibrator(coverage=0.8, horizon_days=settings.ranker.label_days).fit(
        regressor.predict(X), fresh["gmv"].to_numpy()
    )


def list_like_pairs(
    tables: FeatureTables,
    retriever: Retriever,
    rankers: dict[Direction, LambdaRanker],
    seed: int,
    queries: int = 200,
    depth: int = 200,
    top: int = 20,
) -> np.ndarray:
    """Feature vectors of the pairs lists typically recommend: for ``queries`` seeded random queries per direction,
    the ``top`` of ``depth`` retrieved candidates by the direction's ranker (the distribution weight's reference)."""
    rng = np.random.default_rng([seed, 21])
    blocks = []
    for d in DIRECTIONS:
        n_query = d.select(len(tables.creators), len(tables.products))
        for q in rng.choice(n_query, min(queries, n_query), replace=False):
            rows = retriever.candidates(d, int(q), depth)[1]
            rows = rows[rows >= 0]
            if len(rows) == 0:
                continue
            c, p = d.orient(np.full(len(rows), q), rows)
            X = tables.vectors(c, p)
            best = np.argsort(-rankers[d].predict(X), kind="stable")[:top]
            blocks.append(X[best])
    return np.vstack(blocks) if blocks else np.empty((0, len(tables.feature_names)), np.float32)


def popularity_scores(split: RankingSplit, tables: FeatureTables) -> np.ndarray:
    """The 'popular' baseline: the candidate's GMV over the last 90 days."""
    g = split.groups
    products = tables.product[:, tables.product_names.index("p_log_gmv_90d")]
    creators = tables.creator[:, tables.creator_names.index("c_log_gmv_90d")]
    return g.direction.select(products[g.p_rows], creators[g.c_rows])


def train_engine(market: Marketplace, settings: Settings, seed: int) -> Engine:
    """Fit every part of the engine on ``market``; metrics are measured on the last ``valid_days``."""
    r, started = settings.ranker, time.perf_counter()
    stage_seconds: dict[str, float] = {}
    scale = settings.rules.experience_scale
    with timed(stage_seconds, "features_windows", "building point-in-time features for the label windows"):
        windows, valid = make_windows(
            market, r.label_days, r.train_windows, r.valid_days, None, scale, settings.retrieval.cf_factors, seed
        )
    names = valid.tables.feature_names
    if any(w.tables.feature_names != names for w in windows):
        raise ValueError("feature names differ between windows; the data's extra columns changed over time")
    negatives = {Direction.CREATOR: r.negatives_per_creator_query, Direction.PRODUCT: r.negatives_per_product_query}
    budget = r.max_train_rows
    train = {
        d: direction_split(windows, d, settings, negatives[d], seed, r.history_dropout, budget) for d in DIRECTIONS
    }
    stop = {d: direction_split([valid], d, settings, negatives[d], seed + 1, 0.0, budget // 2) for d in DIRECTIONS}
    held = {d: direction_split([valid], d, settings) for d in DIRECTIONS}  # logged outcomes only (reported)
    for d in DIRECTIONS:
        if train[d].groups.n_queries == 0 or held[d].groups.n_queries == 0:
            raise ValueError(f"not enough promotions to form {d} queries in the training and validation windows")
    with timed(stage_seconds, "rankers", "training LambdaRank rankers"):
        rankers = train_rankers(train, stop, names, settings, seed)
    with timed(stage_seconds, "outcome_models", "training GMV and content distribution models"):
        gmv, distribution = train_outcome_models(windows, valid, names, settings, seed)
        gmv_calibration = calibrate_gmv(gmv, valid, settings)
    metrics: dict[str, Any] = {"valid_window": [str(valid.start), str(valid.end)]}
    fit_maps: dict[Direction, QuantileMap] = {}
    for d in DIRECTIONS:
        scores = rankers[d].predict(held[d].X)
        fit_maps[d] = QuantileMap.fit(scores)
        metrics[f"{d}_ndcg@10"] = mean_ndcg(held[d].groups, scores)
        metrics[f"{d}_popularity_ndcg@10"] = mean_ndcg(held[d].groups, popularity_scores(held[d], valid.tables))
        metrics[f"{d}_valid_queries"] = held[d].groups.n_queries
        metrics[f"{d}_train_queries"] = train[d].groups.n_queries
        metrics[f"{d}_best_iteration"] = rankers[d].best_iteration_
    models = FittedModels(rankers, gmv, distribution, fit_maps, gmv_calibration)
    train_pairs = sum(len(w.pairs) for w in windows)
    del windows, valid, train, stop, held  # the windows' tables and matrices are not needed to finish: free them
    clock = (started, stage_seconds)
    return finish_engine(market, data_now(market), models, train_pairs, settings, seed, metrics, clock)


@dataclass(frozen=True)
class FittedModels:
    """What training fits before the engine is finished as of now (either path: in memory or on Dask)."""

    rankers: dict[Direction, LambdaRanker]
    gmv: GBMRegressor
    distribution: DistributionModel
    fit_maps: dict[Direction, QuantileMap]
    gmv_calibration: GMVCalibrator


def finish_engine(
    market: Marketplace,
    now: Any,
    models: FittedModels,
    train_pairs: int,
    settings: Settings,
    seed: int,
    metrics: dict[str, Any],
    clock: tuple[float, dict[str, float]],
    tables: FeatureTables | None = None,
) -> Engine:
    """The engine as of ``now``: features, fake-engagement flags, FAISS retrieval distilled from the rankers and the
    distribution model's reference pairs, with the run's metrics (``clock``: start time and stage seconds;
    ``tables``: the features as of ``now`` when already built, as the Dask path builds them from worker aggregates)."""
    started, stage_seconds = clock
    scale = settings.rules.experience_scale
    with timed(stage_seconds, "features_now", "building features as of now"):
        if tables is None:
            tables = build_feature_tables(market, now, scale, settings.retrieval.cf_factors, seed)
    with timed(stage_seconds, "integrity", "looking for bought followers and views"):
        engagement = engagement_flags(tables, settings.integrity.fake_contamination, seed)
    metrics["flagged_creators"] = int(engagement.flagged.sum())
    with timed(stage_seconds, "retrieval", "distilling the rankers into FAISS retrieval"):
        retriever, retrieval_metrics = build_retriever(tables, models.rankers, settings.retrieval, seed)
    metrics.update(retrieval_metrics)
    with timed(stage_seconds, "distribution_reference", "placing distribution weights among recommended pairs"):
        reference = list_like_pairs(tables, retriever, models.rankers, seed)
        if len(reference):
            models.distribution.set_reference(reference)
    metrics["train_seconds"] = round(time.perf_counter() - started, 1)
    metrics["stage_seconds"] = stage_seconds
    metrics["sizes"] = {**market.sizes(), "train_pairs": int(train_pairs)}
    metrics["gmv_calibration_pairs"] = models.gmv_calibration.n_calibration_
    return Engine(
        tables,
        models.rankers,
        models.gmv,
        models.distribution,
        models.fit_maps,
        retriever,
        metrics,
        models.gmv_calibration,
        engagement,
    )
