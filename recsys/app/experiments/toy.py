"""Toy adapter, registered as the ``demo`` dataset — not one of the four benchmark datasets, not a result to quote.

A tiny seeded user–item problem that exercises the whole experiment framework (runner, report, plots, compare)
in a second, without any data on disk: items have a category and a Zipf-like popularity; each user has a home
category and picks items with probability proportional to popularity × (affinity if the item is in the home
category). Baselines: random, popularity, item-kNN (cosine over training co-occurrence).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from recsys.app.experiments.framework.base import ExperimentResult, MethodResult
from recsys.app.experiments.framework.evaluation import list_metrics, metric_rows, metrics_at_k, rank_items, summarise
from recsys.core import metrics

DATASET = "demo"  # the public name (`recsys experiment --dataset demo`)
KS = (1, 5, 10, 20, 50)


class Config(BaseModel):
    """Size and shape of the demo problem; every field can be overridden from ``--config``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    n_users: int = Field(300, ge=10, description="Users (queries).")
    n_items: int = Field(400, ge=20, description="Catalogue size.")
    n_categories: int = Field(6, ge=1, description="Item categories; each user prefers one.")
    interactions_per_user: int = Field(20, ge=3, description="Distinct items each user interacted with.")
    test_share: float = Field(0.2, gt=0, lt=1, description="Share of each user's items held out for test.")
    popularity_exponent: float = Field(1.0, ge=0, description="Zipf exponent of item popularity.")
    category_affinity: float = Field(8.0, ge=1, description="Weight multiplier of home-category items.")
    neighbours: int = Field(50, ge=1, description="Item-kNN: neighbours kept per item.")
    k: int = Field(10, ge=1, description="Cut-off of the recommended lists (coverage, Gini, long tail).")
    n_seeds: int = Field(1, ge=1, le=10, description="Seeds seed, seed+1, ...; report mean ± std.")


def _generate(config: Config, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(interactions: bool ndarray of shape (n_users, n_items), user home category of shape (n_users,))."""
    item_cat = rng.integers(0, config.n_categories, size=config.n_items)
    ranks = rng.permutation(config.n_items) + 1
    popularity = 1.0 / ranks.astype(np.float64) ** config.popularity_exponent
    user_cat = rng.integers(0, config.n_categories, size=config.n_users)
    interactions = np.zeros((config.n_users, config.n_items), dtype=bool)
    n_pick = min(config.interactions_per_user, config.n_items)
    for u in range(config.n_users):
        weight = popularity * np.where(item_cat == user_cat[u], config.category_affinity, 1.0)
        picked = rng.choice(config.n_items, size=n_pick, replace=False, p=weight / weight.sum())
        interactions[u, picked] = True
    return interactions, user_cat


def _split(interactions: np.ndarray, test_share: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) bool masks: a random ``test_share`` of each user's items (at least one) goes to test."""
    train = np.zeros_like(interactions)
    test = np.zeros_like(interactions)
    for u in range(interactions.shape[0]):
        items = rng.permutation(np.flatnonzero(interactions[u]))
        n_test = max(1, round(len(items) * test_share))
        test[u, items[:n_test]] = True
        train[u, items[n_test:]] = True
    return train, test


def _item_knn_scores(train: np.ndarray, neighbours: int) -> np.ndarray:
    x = train.astype(np.float64)
    norms = np.sqrt(x.sum(axis=0))
    norms[norms == 0] = 1.0
    sim = (x.T @ x) / np.outer(norms, norms)
    np.fill_diagonal(sim, 0.0)
    if neighbours < sim.shape[0]:
        cutoff = np.sort(sim, axis=0)[-neighbours, :]
        sim[sim < cutoff[np.newaxis, :]] = 0.0
    return x @ sim


def _method_scores(train: np.ndarray, config: Config, rng: np.random.Generator) -> dict[str, np.ndarray]:
    n_users, n_items = train.shape
    counts = train.sum(axis=0).astype(np.float64)
    return {
        "random": rng.random((n_users, n_items)),
        "popularity": np.tile(counts, (n_users, 1)),
        "item-kNN": _item_knn_scores(train, config.neighbours),
    }


def run(config: Config, seed: int, data_dir: Path) -> ExperimentResult:
    """Run the demo (``data_dir`` is unused: the data is generated from ``seed``)."""
    per_query: dict[str, list[pd.DataFrame]] = {}
    per_category: dict[str, list[pd.DataFrame]] = {}
    exposure: dict[str, np.ndarray] = {}
    list_values: dict[str, list[dict[str, float]]] = {}
    for s in range(seed, seed + config.n_seeds):
        rng = np.random.default_rng(s)
        interactions, user_cat = _generate(config, rng)
        train, test = _split(interactions, config.test_share, rng)
        head = metrics.head_items_by_popularity(dict(enumerate(train.sum(axis=0).tolist())), 0.2)
        relevant = [set(np.flatnonzero(row).tolist()) for row in test]
        for name, scores in _method_scores(train, config, rng).items():
            ranked = rank_items(scores, exclude=train)
            frame = metric_rows(
                ranked, relevant, list(range(config.n_users)), KS, ("ndcg", "recall", "hr"),
                seed=s, full_list_mrr=True, map_k=10,
            )  # fmt: skip
            per_query.setdefault(name, []).append(frame)
            cats = frame.assign(category=[f"category {c}" for c in user_cat[frame["query"].to_numpy()]])
            per_category.setdefault(name, []).append(cats)
            values, counts = list_metrics(ranked, config.n_items, config.k, head)
            list_values.setdefault(name, []).append(values)
            exposure[name] = exposure.get(name, np.zeros(config.n_items, dtype=np.int64)) + counts

    methods = []
    for name, frames in per_query.items():
        frame = pd.concat(frames, ignore_index=True)
        means, stds = summarise(frames)
        at_k = metrics_at_k(means)
        lists = pd.DataFrame(list_values[name])
        means.update({c: float(lists[c].mean()) for c in lists.columns})
        if config.n_seeds > 1:
            stds.update({c: float(lists[c].std(ddof=1)) for c in lists.columns})
        cats = pd.concat(per_category[name], ignore_index=True)
        by_cat = cats.groupby("category")[["ndcg@10", "recall@10"]].mean().reset_index()
        by_cat["n_queries"] = cats.groupby("category").size().to_numpy()
        methods.append(
            MethodResult(
                name=name,
                metrics=means,
                metrics_std=stds,
                per_query=frame,
                per_category=by_cat,
                exposure=exposure[name],
                metrics_at_k=at_k,
            )
        )
    protocol = (
        f"FRAMEWORK DEMO, not a benchmark: {config.n_users} users and {config.n_items} items in "
        f"{config.n_categories} categories drawn from a seeded popularity × home-category model "
        f"({config.interactions_per_user} distinct items per user). Each user's items are split at random "
        f"{1 - config.test_share:.0%}/{config.test_share:.0%} into train/test; every method ranks all items "
        "with the user's training items masked; the test items are the relevant ones (binary gain). Metrics "
        f"are means over users{' and the mean ± std over seeds' if config.n_seeds > 1 else ''}."
    )
    return ExperimentResult(
        dataset=DATASET,
        protocol=protocol,
        methods=methods,
        primary_metric="ndcg@10",
        notes=["Synthetic demo data: the figures show the framework works, not how good any model is."],
        extra_metrics={
            "seeds": float(config.n_seeds),
            "density": config.interactions_per_user / config.n_items,
        },
    )
