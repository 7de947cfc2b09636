"""A toy experiment adapter for framework tests: small, deterministic, no data on disk.

Per-query values are seeded uniform draws; ``shift`` is added to the "full pipeline" method only, so two runs
that differ only in ``shift`` differ by exactly ``shift`` on every query of that method.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from recsys.app.experiments.framework.base import ExperimentResult, MethodResult
from recsys.app.experiments.framework.evaluation import metrics_at_k, summarise

DATASET = "toy"
METHODS = ("random", "popularity", "full pipeline")


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    n_queries: int = Field(40, ge=1)
    shift: float = Field(0.0, ge=0, le=0.2)
    n_seeds: int = Field(1, ge=1)
    with_extras: bool = True  # per-category, exposure, metric-at-k, published table


def _method_frame(method_index: int, config: Config, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng([seed, method_index])
    base = rng.uniform(0.0, 0.8, size=config.n_queries) * (method_index + 1) / len(METHODS)
    if METHODS[method_index] == "full pipeline":
        base = base + config.shift
    return pd.DataFrame(
        {
            "query": [f"q{i}" for i in range(config.n_queries)],
            "seed": seed,
            "ndcg@10": base,
            "recall@10": np.minimum(1.0, base * 1.2),
            "ndcg@5": base * 0.9,
            "recall@5": base,
        }
    )


def run(config: Config, seed: int, data_dir: Path) -> ExperimentResult:
    methods = []
    for index, name in enumerate(METHODS):
        frame = pd.concat(
            [_method_frame(index, config, s) for s in range(seed, seed + config.n_seeds)], ignore_index=True
        )
        means, stds = summarise(frame)
        means["coverage@10"] = 0.1 * (index + 1)
        result = MethodResult(name=name, metrics=means, metrics_std=stds, per_query=frame)
        if config.with_extras:
            result.metrics_at_k = metrics_at_k(means)
            result.per_category = pd.DataFrame(
                {
                    "category": ["a", "b"],
                    "ndcg@10": [means["ndcg@10"], means["ndcg@10"] / 2],
                    "n_queries": [1, 1],
                }
            )
            result.exposure = np.arange(20, dtype=np.int64) ** (index + 1)
        methods.append(result)
    published = None
    if config.with_extras:
        published = pd.DataFrame({"ndcg@10": {"SASRec": 0.3, "BPR": 0.25}, "HR@10": {"SASRec": 0.6, "BPR": 0.5}})
    return ExperimentResult(
        dataset=DATASET,
        protocol="Toy protocol: seeded uniform per-query values; no data.",
        methods=methods,
        primary_metric="ndcg@10",
        published=published,
        notes=["toy note"],
        extra_metrics={"toy extra": 1.5},
    )
