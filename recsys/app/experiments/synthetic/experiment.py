"""Synthetic marketplace experiment: the full pipeline against baselines and the generator's ground truth.

Protocol ``ranking`` (the default): generate a marketplace (seeded), hold out the last ``test_days`` of promotions,
train the whole engine on what came before (its own validation window is the 30 days before the test), then evaluate
both directions on the test window (logged outcomes, with an oracle from the ground truth) and on the full eligible
catalogue (true expected GMV of every candidate). See :mod:`recsys.app.experiments.synthetic.evaluation` for the two
evaluations.

Protocol ``market``: the same split and engine, then weekly rounds of a simulated marketplace with limited creator
capacity and product samples (:mod:`recsys.app.experiments.synthetic.market`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from models.engine import Engine
from models.integrity.evaluation import detection_against_truth
from models.matching.assemble import assemble_matcher
from models.training.evaluation import money_calibration
from models.training.train import train_engine
from models.training.windows import LabelWindow, data_now, new_pairs, query_groups, window_pairs
from recsys.app.experiments.framework.base import ExperimentResult, MethodResult
from recsys.app.experiments.synthetic.evaluation import (
    BY_GMV,
    KNN,
    KS,
    NO_EXPOSURE,
    ORACLE,
    PART_ONLY,
    PIPELINE,
    POPULARITY,
    RANDOM,
    RETRIEVAL,
    TAG,
    candidate_popularity,
    feature_column,
    knn_scores,
    list_spread,
    logged_per_query,
    test_market,
    truth_rows,
)
from recsys.app.experiments.synthetic.full_catalogue import full_catalogue
from recsys.core.config import RankerSettings, RetrievalSettings, RulesSettings, Settings
from recsys.core.schema import Marketplace
from recsys.core.synth import GroundTruth, SynthConfig, generate
from recsys.core.vocab import DIRECTIONS, Direction

DATASET = "synthetic"


class Config(BaseModel):
    """The marketplace size, the split and the engine settings that matter for the experiment."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    creators: int = Field(5000, ge=50, description="Creators in the generated marketplace.")
    products: int = Field(20_000, ge=100, description="Products in the generated marketplace.")
    promotions: int | None = Field(None, ge=100, description="Promotions (default: 50 per creator).")
    test_days: int = Field(30, ge=7, description="Held-out days at the end of the history.")
    full_catalogue_queries: int = Field(200, ge=5, description="Queries per direction for the full-catalogue protocol.")
    ranker_mode: Literal["shared", "per_direction"] = "per_direction"
    n_estimators: int = Field(600, ge=10)
    negatives_per_creator_query: int = Field(20, ge=0, description="Random unpromoted products per creator query.")
    negatives_per_product_query: int = Field(0, ge=0, description="Random unpromoted creators per product query.")
    history_dropout: float = Field(0.2, ge=0, lt=1, description="Share of training rows with history blanked.")
    distill_queries: int = Field(400, ge=10)
    recall_queries: int = Field(100, ge=5)
    candidates: int = Field(1000, ge=10, description="Retrieval depth of the full pipeline.")
    protocol: Literal["ranking", "market"] = Field(
        "ranking", description="ranking: logged + full-catalogue lists; market: weekly rounds with capacities."
    )
    # --- the market protocol (see market.py; sized so that 5000 x 20000 runs in under 20 minutes on 2 cores) ---
    market_rounds: int = Field(3, ge=1, le=12, description="Weekly rounds of the market simulation.")
    market_inviting_share: float = Field(
        0.04, gt=0, le=1, description="Share of admitted products with samples left that invite creators a round."
    )
    market_invites_per_product: int = Field(10, ge=1, description="Creators each inviting product invites.")
    market_browsing_share: float = Field(
        0.15, gt=0, le=1, description="Share of creators with capacity left who also open their own pool a round."
    )
    market_pool_size: int = Field(5, ge=1, description="Top products of its own pool a browsing creator considers.")
    market_preference_noise: float = Field(
        0.5, ge=0, description="Sigma of the log-normal noise on a creator's estimate of its expected commission."
    )
    market_ablations: bool = Field(
        True, description="Also run the capacity-aware pipeline with one control toggled each (see market.ABLATIONS)."
    )
    market_oracle_products_per_creator: int = Field(50, ge=1, description="Oracle graph: best new products each.")
    market_oracle_creators_per_product: int = Field(20, ge=1, description="Oracle graph: best new creators each.")


def engine_settings(config: Config) -> Settings:
    """The engine and matcher settings of both protocols."""
    return Settings(
        ranker=RankerSettings(
            mode=config.ranker_mode,
            n_estimators=config.n_estimators,
            negatives_per_creator_query=config.negatives_per_creator_query,
            negatives_per_product_query=config.negatives_per_product_query,
            history_dropout=config.history_dropout,
        ),
        retrieval=RetrievalSettings(
            distill_queries=config.distill_queries, recall_queries=config.recall_queries, candidates=config.candidates
        ),
        rules=RulesSettings(earnings_blend=0.0),  # lists ordered by fit alone: the truth measures GMV, not earnings
    )


def _logged(
    engine: Engine,
    pairs: pd.DataFrame,
    history: pd.DataFrame,
    truth: GroundTruth,
    d: Direction,
    rng: np.random.Generator,
) -> tuple[dict[str, pd.DataFrame], dict[str, float]]:
    tables, settings_res = engine.tables, 2.0
    g = query_groups(pairs, d, "gmv", settings_res)
    X = tables.vectors(g.c_rows, g.p_rows, g.rate, g.fmt)
    tc, tp = truth_rows(truth, engine, g.c_rows, g.p_rows)
    r = engine.retriever
    query_rows, candidate_rows = d.query_rows(g.c_rows, g.p_rows), d.candidate_rows(g.c_rows, g.p_rows)
    query_side = d.select(r.creator_vectors, r.product_vectors)[query_rows]
    other_side = d.select(r.product_vectors, r.creator_vectors)[candidate_rows]
    popular = candidate_popularity(tables, d)[candidate_rows]
    scores = {
        PIPELINE: engine.rankers[d].predict(X),
        RETRIEVAL: np.einsum("ij,ij->i", query_side * r.weights[d], other_side),
        POPULARITY: popular,
        KNN: knn_scores(history, engine, g),
        RANDOM: rng.random(len(g.c_rows)),
        ORACLE: truth.expected_gmv(tc, tp, rate=g.rate, fmt=g.fmt),
    }
    ids = d.select(tables.creators, tables.products).ids[g.query_rows]
    frames = {name: logged_per_query(g, s, ids, TAG[d]) for name, s in scores.items()}
    # cold start: queries whose creator / product had no history before the test window
    flag = feature_column(tables, d, d.select("c_has_history", "p_has_history"))
    cold_ids = {f"{TAG[d]}:{i}" for i in ids[flag[g.query_rows] == 0]}
    extra: dict[str, float] = {f"{TAG[d]}_cold_queries": float(len(cold_ids & set(frames[PIPELINE]["query"])))}
    for name in (PIPELINE, POPULARITY, RANDOM):
        f = frames[name]
        extra[f"{TAG[d]}_cold_ndcg@10_{name.split()[0]}"] = float(
            f[f["query"].isin(cold_ids)][f"{TAG[d]}_ndcg@10"].mean()
        )
    return frames, extra


@dataclass(frozen=True)
class Split:
    """The generated marketplace, its truth, the test window and the engine trained on what came before it."""

    market: Marketplace
    truth: GroundTruth
    past: Marketplace  # the marketplace as it stood at test_start
    test_start: pd.Timestamp
    end: pd.Timestamp
    settings: Settings
    engine: Engine


def train_split(config: Config, seed: int) -> Split:
    """Generate the marketplace, hold out the last ``test_days`` and train the engine on the rest."""
    synthetic = generate(
        SynthConfig(
            creators=config.creators,
            products=config.products,
            promotions=config.promotions,
            seed=seed,
            with_orders=False,
        )
    )
    market, truth = synthetic.market, synthetic.truth
    end = data_now(market)
    test_start = end - pd.Timedelta(days=config.test_days)
    past = test_market(market, test_start)
    settings = engine_settings(config)
    engine = train_engine(past, settings, seed)
    return Split(market, truth, past, test_start, end, settings, engine)


def run(config: Config, seed: int, data_dir: Path) -> ExperimentResult:
    if config.protocol == "market":
        from recsys.app.experiments.synthetic import market as market_protocol  # market.py imports this module

        return market_protocol.run_market(config, train_split(config, seed), seed)
    return run_ranking(config, seed)


def run_ranking(config: Config, seed: int) -> ExperimentResult:
    """The ``ranking`` protocol: logged test window and full eligible catalogue, both directions."""
    rng = np.random.default_rng(seed)
    split = train_split(config, seed)
    market, truth, past, test_start, end = split.market, split.truth, split.past, split.test_start, split.end
    settings, engine = split.settings, split.engine
    pairs = window_pairs(market, engine.tables, test_start, end)
    # the market as it stood at test_start: its collaborations and loads, never the test window's
    matcher = assemble_matcher(engine, past, settings, test_start.to_pydatetime())
    no_controls = settings.matching.model_copy(
        update={"exposure_decay": 0.0, "new_creator_boost": 0.0, "capacity_room": 0.0}
    )
    plain = assemble_matcher(
        engine, past, settings.model_copy(update={"matching": no_controls}), test_start.to_pydatetime()
    )
    book = matcher.planbook
    assert book is not None
    parts: dict[str, list[pd.DataFrame]] = {}
    extra: dict[str, float] = {}
    # a new pair's promotions in 30 days, to put the truth's per-promotion GMV on the predictions' horizon
    promotions_per_pair = float(new_pairs(LabelWindow(test_start, end, engine.tables, pairs))["promotions"].mean())
    exposure = None
    for d in DIRECTIONS:
        logged, cold = _logged(engine, pairs, past.promotions, truth, d, rng)
        full, exp, weights = full_catalogue(
            engine, matcher, plain, book, truth, d, config.full_catalogue_queries, rng, promotions_per_pair
        )
        exposure = d.select(exp, exposure)
        extra.update(weights)
        extra.update(list_spread(exp, d, book))
        extra.update(cold)
        for name in dict.fromkeys([*logged, *full]):
            parts.setdefault(name, []).extend([logged.get(name, pd.DataFrame()), full.get(name, pd.DataFrame())])
    main_category = {
        cid: cats[0] for cid, cats in zip(market.creators["creator_id"], market.creators["categories"], strict=True)
    }
    methods = []
    listed = (PIPELINE, NO_EXPOSURE, BY_GMV, RETRIEVAL, POPULARITY, KNN, RANDOM, ORACLE)
    for name in sorted(parts, key=listed.index):
        frames = parts[name]
        per_query = pd.concat([f for f in frames if len(f)], ignore_index=True)
        c2p = per_query[per_query["query"].str.startswith("c2p:")]
        per_category = (
            c2p.assign(category=c2p["query"].str.removeprefix("c2p:").map(main_category))
            .groupby("category")[["c2p_ndcg@10"]]
            .mean()
            .reset_index()
            if len(c2p)
            else None  # a full-catalogue-only method: no logged creator queries
        )
        cols = [c for c in per_query.columns if "@" in c]
        summary = {c: float(per_query[c].mean()) for c in cols}
        at_k = pd.DataFrame(
            [{"k": int(c.split("@")[1]), "metric": c.split("@")[0], "value": v} for c, v in summary.items()]
        )
        methods.append(
            MethodResult(
                name,
                summary,
                per_query,
                metrics_at_k=at_k,
                per_category=per_category,
                exposure=exposure if name == PIPELINE else None,
                part_only=PART_ONLY.get(name),
            )
        )
    by_name = {m.name: m.metrics for m in methods}
    for tag in TAG.values():
        for variant in ("", "full_"):
            key = f"{tag}_{variant}ndcg@10"
            if by_name[ORACLE].get(key):
                extra[f"{tag}_{variant}pipeline_over_oracle"] = by_name[PIPELINE][key] / by_name[ORACLE][key]
    # timings vary run to run (bench/ measures them): metrics.json stays identical for the same seed
    extra.update({k: float(v) for k, v in engine.metrics.items() if isinstance(v, int | float) and "seconds" not in k})
    money, calibration = money_calibration(engine, LabelWindow(test_start, end, engine.tables, pairs))
    extra.update(money)
    if engine.engagement is not None and truth.fake_engagement is not None:
        found = detection_against_truth(engine.engagement.flagged, engine.tables.creators.ids, truth.fake_engagement)
        extra.update({f"fake_engagement_{k}": v for k, v in found.as_dict().items()})
    return ExperimentResult(
        dataset=DATASET,
        protocol=(
            f"Synthetic marketplace ({config.creators} creators x {config.products} products, seed {seed}); last "
            f"{config.test_days} days held out, engine trained on the rest. c2p = a creator ranks products, p2c = a "
            "product ranks creators. Logged: each query ranks the candidates it actually promoted in the test window, "
            "gains = realized GMV; the oracle ranks by the generator's true expected GMV. full: top 10 of the whole "
            "eligible catalogue (plan rules applied) scored against the true expected GMV of every eligible candidate."
        ),
        methods=methods,
        primary_metric="c2p_ndcg@10",
        notes=[
            f"ranker mode: {config.ranker_mode}",
            "creator lists ordered by fit alone (earnings blend 0)",
            f"cutoff of features: {engine.tables.cutoff.date()}, test window {test_start.date()} .. {end.date()}",
        ],
        extra_metrics=extra,
        headline_method=PIPELINE,
        tables={"Predicted GMV on the test window's new collaborations, by decile of prediction": calibration}
        if len(calibration)
        else {},
    )


__all__ = [
    "BY_GMV",
    "DATASET",
    "KS",
    "NO_EXPOSURE",
    "Config",
    "Split",
    "engine_settings",
    "feature_column",
    "run",
    "train_split",
]
