"""Variants of the GMV model against the synthetic world's truth on the full catalogue: the diagnostic behind
docs/matching.md, "The GMV model learns from new collaborations" (its table of variants).

    python -m bench.gmv_variants --seed 2                      # every variant
    python -m bench.gmv_variants --seed 7 --variant before --variant default

The world, split and engine are the synthetic experiment's (``recsys experiment -d synthetic --seed S``: 5,000
creators × 20,000 products, the last 30 days held out). Each variant refits the GMV model alone on the engine's own
label windows (same seed, same history dropout, same row budget) and orders, for 200 sampled products and 100 sampled
creators, every eligible new candidate by ``log GMV + β·z`` (``z`` the retrieval affinity of
``matching.retrieval_blend``; β = 0, 0.5, 1), scored by NDCG@10 against the truth's expected GMV of every candidate.
Retrieval-only (``z`` alone) is printed beside. ~1 minute for the engine, ~45 s per variant, on 2 cores.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from features.names import CATEGORICAL_FEATURES
from models.gbm.config import GBMConfig
from models.gbm.regressor import GBMRegressor
from models.matching.assemble import assemble_matcher
from models.matching.scoring import RetrievalAffinity
from models.training.train import pair_rows
from models.training.windows import LabelWindow, make_windows, new_pairs
from recsys.app.experiments.synthetic.experiment import Config, Split, train_split
from recsys.app.experiments.synthetic.full_catalogue import new_candidates, true_gains
from recsys.core import metrics
from recsys.core.vocab import Direction

BETAS = (0.0, 0.5, 1.0)
QUERIES = {Direction.PRODUCT: 200, Direction.CREATOR: 100}
# name -> (new collaborations only, leaves, rows per leaf, history dropout or None for the setting's, tweedie power)
VARIANTS: dict[str, tuple[bool, int, int, float | None, float]] = {
    "before": (False, 31, 20, None, 1.5),
    "smooth": (False, 15, 200, None, 1.5),
    "new": (True, 31, 20, None, 1.5),
    "default": (True, 15, 200, None, 1.5),
    "new-15-500": (True, 15, 500, None, 1.5),
    "new-7-200": (True, 7, 200, None, 1.5),
    "no-dropout": (False, 31, 20, 0.0, 1.5),
    "tweedie-1.8": (False, 31, 20, None, 1.8),
}


class Query(NamedTuple):
    """One query's eligible new candidates: their rows, true gains, feature vectors, retrieval affinity ``z``, and
    each pair's creator row, product row and plan rate."""

    rows: np.ndarray
    gains: np.ndarray
    X: np.ndarray
    z: np.ndarray
    c: np.ndarray
    p: np.ndarray
    rate: np.ndarray


def sample_queries(split: Split, seed: int) -> dict[Direction, list[Query]]:
    """Per direction, seeded queries with every eligible new candidate: rows, true gains, features, affinity."""
    engine, truth, tables = split.engine, split.truth, split.engine.tables
    matcher = assemble_matcher(engine, split.past, split.settings, split.test_start.to_pydatetime())
    book, affinity = matcher.planbook, RetrievalAffinity(engine.retriever)
    assert book is not None
    out: dict[Direction, list[Query]] = {}
    for d, n in QUERIES.items():
        rng = np.random.default_rng(seed)
        resolve = d.select(book.products_for_creator, book.creators_for_product)
        queries: list[Query] = []
        for q in rng.permutation(np.flatnonzero(d.select(book.admitted_creators, book.admitted_products))):
            if len(queries) >= n:
                break
            rows = new_candidates(matcher, d, int(q))[1]
            if len(rows) < 20:
                continue
            rate = resolve(int(q), rows).rate
            gains = true_gains(engine, truth, d, int(q), rows, rate)
            c, p = d.orient(np.full(len(rows), q), rows)
            X = tables.vectors(c, p, rate, tables.arrays["creator_main_format"][c].astype(np.int64))
            queries.append(Query(rows, gains, X, affinity.z(d, c, p), c, p, rate))
        out[d] = queries
    return out


def ndcg(queries: list[Query], score: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> float:
    """Mean NDCG@10 of ordering each query's candidates by ``score(features, z)``."""
    return float(np.nanmean([query_ndcg(q, score(q.X, q.z)) for q in queries]))


def query_ndcg(q: Query, score: np.ndarray) -> float:
    """NDCG@10 of ordering one query's candidates by ``score`` (ties by row), against its true gains."""
    order = q.rows[np.lexsort((q.rows, -score))][:10]
    relevant = {int(i): float(g) for i, g in zip(q.rows, q.gains, strict=True) if g > 0}
    return float(metrics.ndcg_at_k(list(order), relevant, 10))


def fit_variant(split: Split, windows: list[LabelWindow], valid: LabelWindow, name: str, seed: int) -> GBMRegressor:
    new_only, leaves, per_leaf, dropout, power = VARIANTS[name]
    r = split.settings.ranker
    if new_only:
        windows = [dataclasses.replace(w, pairs=new_pairs(w)) for w in windows]
        valid = dataclasses.replace(valid, pairs=new_pairs(valid))
    X, y, _ = pair_rows(windows, r.history_dropout if dropout is None else dropout, seed, r.max_train_rows)
    Xv, yv, _ = pair_rows([valid], 0.0, seed + 1, r.max_train_rows // 2)
    gbm = dataclasses.replace(GBMConfig.from_settings(r, seed), num_leaves=leaves, min_data_in_leaf=per_leaf)
    return GBMRegressor(objective="tweedie", tweedie_variance_power=power, **gbm.kwargs()).fit(
        X, y, valid.tables.feature_names, Xv, yv, CATEGORICAL_FEATURES
    )


def blended(model: GBMRegressor, beta: float) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """The order ``log GMV + beta · z`` of a GMV model."""

    def score(X: np.ndarray, z: np.ndarray) -> np.ndarray:
        return np.asarray(np.log(np.maximum(model.predict(X), 1e-9)) + beta * z)

    return score


def prepare(seed: int) -> tuple[Split, list[LabelWindow], LabelWindow, dict[Direction, list[Query]]]:
    """The experiment's world and engine for ``seed``, the engine's label windows and the sampled queries (printing
    how long it took)."""
    started = time.perf_counter()
    split = train_split(Config(), seed)
    s, r = split.settings, split.settings.ranker
    windows, valid = make_windows(
        split.past, r.label_days, r.train_windows, r.valid_days, None, s.rules.experience_scale,
        s.retrieval.cf_factors, seed,
    )  # fmt: skip
    queries = sample_queries(split, seed)
    print(f"engine, windows and queries: {time.perf_counter() - started:.0f} s (seed {seed})")
    return split, windows, valid, queries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=7, help="World and training seed (default 7).")
    parser.add_argument(
        "--variant", action="append", choices=list(VARIANTS), help="Variant to fit (repeatable; default: all)."
    )
    args = parser.parse_args()
    started = time.perf_counter()
    split, windows, valid, queries = prepare(args.seed)
    header = " ".join(f"{d.value[:4]} β={b}" for d in queries for b in BETAS)
    print(f"{'variant':14s} {header}")
    print("retrieval-only: " + ", ".join(f"{d.value} {ndcg(queries[d], lambda X, z: z):.4f}" for d in queries))
    for name in args.variant or list(VARIANTS):
        model = fit_variant(split, windows, valid, name, args.seed)
        row = [ndcg(queries[d], blended(model, b)) for d in queries for b in BETAS]
        print(f"{name:14s} " + " ".join(f"{v:>10.4f}" for v in row), f"[{time.perf_counter() - started:.0f} s]")


if __name__ == "__main__":
    main()
