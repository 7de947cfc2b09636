"""In-process measurements: the floor (raw FAISS search + raw ranker on 1,000 candidates + top-50) and the full
matcher, per direction, plus the quality cost of the speed levers (IVF vs exact search, compiled vs LightGBM)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from models.matching.matcher import Matcher
from models.retrieval.ann import VectorIndex
from recsys.core import metrics
from recsys.core.vocab import Direction

CANDIDATES = 1000
TOP = 50


@dataclass
class Timing:
    p50_ms: float
    p99_ms: float
    n: int


def timed(fn: Callable[[int], object], n: int, warmup: int = 20) -> Timing:
    for i in range(min(warmup, n)):
        fn(i)
    samples = []
    for i in range(n):
        t0 = time.perf_counter()
        fn(i)
        samples.append(1000 * (time.perf_counter() - t0))
    return Timing(float(np.percentile(samples, 50)), float(np.percentile(samples, 99)), n)


def query_rows(matcher: Matcher, direction: Direction, n: int, seed: int) -> np.ndarray:
    """Rows of admitted creators (direction "creator") or admitted products with a joinable plan for many."""
    book = matcher.planbook
    assert book is not None
    rng = np.random.default_rng(seed)
    if direction is Direction.CREATOR:
        pool = np.flatnonzero(book.admitted_creators)
        return rng.choice(pool, size=min(n, len(pool)), replace=False)
    rows: list[int] = []
    enough = min(CANDIDATES, len(book.admitted_creators) // 2)
    for p in rng.permutation(np.flatnonzero(book.admitted_products)):
        if book.eligible_creators_mask(int(p)).sum() >= enough:
            rows.append(int(p))
        if len(rows) >= n:
            break
    return np.asarray(rows)


def floor_call(matcher: Matcher, direction: Direction, rows: np.ndarray) -> Callable[[int], object]:
    """One floor call per index: raw FAISS search for 1,000 candidates + the ranker (compiled or not, as it stands
    when called) on their precomputed features + top-50."""
    engine = matcher.engine
    index = engine.retriever.index_for(direction)
    ranker = engine.rankers[direction]
    queries = [engine.retriever.base(direction, int(r)).reshape(1, -1) for r in rows]
    features = []
    for q, r in zip(queries, rows, strict=True):
        _, cand = index.search(q, CANDIDATES)
        cand = cand[0][cand[0] >= 0]
        c, p = direction.orient(np.full(len(cand), r), cand)
        features.append(engine.tables.vectors(c, p))

    def one(i: int) -> object:
        index.search(queries[i % len(rows)], CANDIDATES)
        scores = ranker.predict(features[i % len(rows)], num_threads=1)
        top = np.argpartition(-scores, TOP)[:TOP]
        return top[np.argsort(-scores[top])]

    return one


def floor(matcher: Matcher, direction: Direction, rows: np.ndarray, compiled: bool) -> Timing:
    """The floor's latency with the compiled ranker or with LightGBM's own predictor."""
    ranker = matcher.engine.rankers[direction]
    saved = ranker.compiled_
    ranker.compiled_ = saved if compiled else None
    try:
        return timed(floor_call(matcher, direction, rows), len(rows))
    finally:
        ranker.compiled_ = saved


def matcher_timing(matcher: Matcher, direction: Direction, rows: np.ndarray) -> Timing:
    ids = direction.select(matcher.engine.tables.creators, matcher.engine.tables.products)
    names = [ids.id(int(r)) for r in rows]
    return timed(lambda i: matcher.recommend(direction, names[i % len(names)], TOP), len(names))


def ivf_quality(matcher: Matcher, direction: Direction, rows: np.ndarray) -> dict[str, float]:
    """What IVF costs against exact search on the same vectors: index recall@1000 and NDCG@10 of the pipeline's
    list with the exact-search pipeline's top 10 as graded reference (1.0 = identical lists)."""
    retriever = matcher.engine.retriever
    attr = direction.select("product_index", "creator_index")
    approx: VectorIndex = getattr(retriever, attr)
    if approx.kind_ == "flat":
        return {"index_recall@1000": 1.0, "pipeline_ndcg@10_vs_exact": 1.0}
    exact = VectorIndex(kind="flat").fit(np.asarray(approx.vectors_), scale=approx.scale_)
    queries = np.vstack([retriever.base(direction, int(r)) for r in rows])
    _, a = approx.search(queries, CANDIDATES)
    _, e = exact.search(queries, CANDIDATES)
    recall = float(np.mean([len(np.intersect1d(x, y)) / CANDIDATES for x, y in zip(a, e, strict=True)]))
    ids = direction.select(matcher.engine.tables.creators, matcher.engine.tables.products)

    def top10(r: int) -> list[str]:
        recs = matcher.recommend(direction, ids.id(int(r)), 10)
        return [direction.candidate_rows(x.creator_id, x.product_id) for x in recs]

    ndcgs = []
    for r in rows:
        fast = top10(r)
        setattr(retriever, attr, exact)
        try:
            reference = top10(r)
        finally:
            setattr(retriever, attr, approx)
        ndcgs.append(metrics.ndcg_at_k(fast, {item: 10.0 - i for i, item in enumerate(reference)}, 10))
    return {"index_recall@1000": recall, "pipeline_ndcg@10_vs_exact": float(np.nanmean(ndcgs))}


def cascade_quality(matcher: Matcher, rows: np.ndarray) -> dict[str, float]:
    """What the product ranker's cascade (``ranker.cascade_trees``) costs against scoring every candidate with every
    tree, on the top-50 lists of products ``rows``: the share of identical lists, the top-50 overlap and the NDCG@10
    of the lists with the cascade's top 10 graded against the full ranker's (1.0 = identical)."""
    if matcher.scorer.cascade is None:
        return {"identical": 1.0, "overlap@50": 1.0, "ndcg@10": 1.0}
    ids = matcher.engine.tables.products
    saved = matcher.scorer.cascade
    same, overlap, ndcgs = [], [], []
    for r in rows:
        cascaded = [x.creator_id for x in matcher.recommend_creators(ids.id(int(r)), TOP)]
        matcher.scorer.cascade = None
        try:
            full = [x.creator_id for x in matcher.recommend_creators(ids.id(int(r)), TOP)]
        finally:
            matcher.scorer.cascade = saved
        same.append(cascaded == full)
        overlap.append(len(set(cascaded) & set(full)) / max(len(full), 1))
        ndcgs.append(metrics.ndcg_at_k(cascaded[:10], {c: 10.0 - i for i, c in enumerate(full[:10])}, 10))
    return {
        "identical": float(np.mean(same)),
        "overlap@50": float(np.mean(overlap)),
        "ndcg@10": float(np.nanmean(ndcgs)),
    }


def compiled_quality(matcher: Matcher, direction: Direction, rows: np.ndarray) -> dict[str, float]:
    """Largest score difference between the compiled ranker and LightGBM on the candidates of ``rows``."""
    ranker = matcher.engine.rankers[direction]
    if ranker.compiled_ is None:
        return {"max_abs_score_diff": float("nan")}
    diffs = []
    for r in rows[:50]:
        n_candidates = len(direction.select(matcher.engine.tables.products, matcher.engine.tables.creators))
        cand = np.arange(CANDIDATES) % n_candidates
        c, p = direction.orient(np.full(len(cand), r), cand)
        X = matcher.engine.tables.vectors(c, p)
        fast = ranker.compiled_.predict_raw(X)
        slow = ranker.booster_.predict(X, num_iteration=ranker.best_iteration_, num_threads=1)
        diffs.append(float(np.max(np.abs(fast - slow))))
    return {"max_abs_score_diff": max(diffs)}
