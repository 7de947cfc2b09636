"""Building the retriever: distil the rankers into retrieval weights, index both sides, measure recall.

Recall is measured two ways and recorded in the manifest:

- ``<side>_index_recall@100``: the FAISS index against exact inner-product search over the same vectors;
- ``<direction>_recall@<k>_of_ranker_top10``: for sampled queries, the share of the ranker's top 10 over the *whole*
  catalogue (every item scored exactly by the ranker) that retrieval returns in its top ``k``;
- ``<direction>_ndcg@10_vs_exhaustive@<k>``: for the same queries, NDCG@10 of the ranker's top 10 among those ``k``
  retrieved items, against the ranker's top 10 over the whole catalogue (gain 1 for each item of that exhaustive
  top 10): 1.0 when retrieval loses nothing the final list would show.

With ``prior_anchors`` > 0 the creator -> products ranker's product prior (:mod:`models.retrieval.prior`) is one
more retrieval dimension.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from features.tables import FeatureTables
from models.gbm.ranker import LambdaRanker
from models.retrieval.ann import VectorIndex
from models.retrieval.prior import ProductPrior
from models.retrieval.retriever import Retriever, fit_weights, retrieval_blocks
from models.training.evaluation import recall_of_top
from recsys.core.config import RetrievalSettings
from recsys.core.vocab import DIRECTIONS, Direction

TOP_BLOCK = 16  # queries whose scores over the whole catalogue are held at once (16 x 4M products: 256 MB)
SCORE_CHUNK = 250_000  # items one ranker call scores when a query is ranked against the whole catalogue


def _products_in_main_category(tables: FeatureTables, creator_row: int) -> np.ndarray:
    main = int(np.argmax(tables.arrays["creator_category_listed"][creator_row]))
    return np.flatnonzero(tables.arrays["product_category"] == main)


def _creators_listing_category(tables: FeatureTables, product_row: int) -> np.ndarray:
    a = tables.arrays
    return np.flatnonzero(a["creator_category_listed"][:, a["product_category"][product_row]] > 0)


def _same_category_items(tables: FeatureTables, direction: Direction, row: int) -> np.ndarray:
    return direction.select(_products_in_main_category, _creators_listing_category)(tables, row)


def _sizes(tables: FeatureTables, direction: Direction) -> tuple[int, int]:
    """(query side rows, candidate side rows) of a direction."""
    n_c, n_p = len(tables.creators), len(tables.products)
    return direction.select((n_c, n_p), (n_p, n_c))


def _distill(
    tables: FeatureTables,
    ranker: LambdaRanker,
    u: np.ndarray,
    v: np.ndarray,
    direction: Direction,
    n_queries: int,
    rng: np.random.Generator,
) -> np.ndarray:
    n_query_side, n_items = _sizes(tables, direction)
    queries = rng.choice(n_query_side, size=min(n_queries, n_query_side), replace=False)
    q_list, i_list = [], []
    for q in queries:
        items = rng.choice(n_items, size=min(300, n_items), replace=False)
        same = _same_category_items(tables, direction, int(q))
        if len(same):
            items = np.union1d(items, rng.choice(same, size=min(100, len(same)), replace=False))
        q_list.append(np.full(len(items), q))
        i_list.append(items)

    def fit(qs: np.ndarray, its: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        c, p = direction.orient(qs, its)
        scores = ranker.predict(tables.vectors(c, p))
        return fit_weights(u, v, c, p, scores, qs), scores

    qs, its = np.concatenate(q_list), np.concatenate(i_list)
    weights, _ = fit(qs, its)
    # Second pass: add what the first weights would retrieve (the region where mistakes cost recall).
    query_vecs = direction.select(u, v)[queries] * weights
    top = top_by_inner_product(query_vecs, direction.select(v, u), 200)
    qs = np.concatenate([qs, np.repeat(queries, top.shape[1])])
    its = np.concatenate([its, top.ravel()])
    weights, _ = fit(qs, its)
    return weights


def top_by_inner_product(queries: np.ndarray, items: np.ndarray, k: int, block: int = TOP_BLOCK) -> np.ndarray:
    """Each query's ``k`` items of highest inner product, best first (equal scores: lower row first; which of
    several items tied at the k-th place is kept is arbitrary but deterministic), computed ``block`` queries at a
    time: the whole (queries x items) score matrix of 400 queries over 4M products would be 6.4 GB, and its argsort
    twice that."""
    k = min(k, len(items))
    out = np.empty((len(queries), k), dtype=np.int64)
    if k == 0:
        return out
    for start in range(0, len(queries), block):
        scores = queries[start : start + block] @ items.T
        best = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        for i, (row, cand) in enumerate(zip(scores, best, strict=True)):
            out[start + i] = cand[np.lexsort((cand, -row[cand]))]
    return out


def _ranker_scores(tables: FeatureTables, ranker: LambdaRanker, direction: Direction, row: int) -> np.ndarray:
    """The ranker's score of every item of the other side for one query row, :data:`SCORE_CHUNK` items at a time
    (at 4M products one feature matrix of every item would be ~2 GB)."""
    n_items = _sizes(tables, direction)[1]
    out = np.empty(n_items, dtype=np.float64)
    for start in range(0, n_items, SCORE_CHUNK):
        items = np.arange(start, min(start + SCORE_CHUNK, n_items))
        c, p = direction.orient(np.full(len(items), row), items)
        out[start : start + len(items)] = ranker.predict(tables.vectors(c, p))
    return out


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    return np.argsort(-scores, kind="stable")[:k]


def ndcg_vs_exhaustive(scores: np.ndarray, retrieved: np.ndarray, k: int = 10) -> float:
    """NDCG@k of the top ``k`` by ``scores`` among the ``retrieved`` rows, against the top ``k`` over every row
    (binary gains: an item of the exhaustive top ``k`` counts 1)."""
    best = set(_top(scores, k).tolist())
    kept = retrieved[np.argsort(-scores[retrieved], kind="stable")[:k]]
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    gains = np.array([1.0 if int(r) in best else 0.0 for r in kept])
    return float((gains * discounts[: len(gains)]).sum() / discounts[: min(k, len(best))].sum())


def _widen(
    index: VectorIndex, queries: np.ndarray, depth: int, exact: np.ndarray, recall: float, settings: RetrievalSettings
) -> tuple[float, str | None]:
    """Visit more IVF lists per query (x1.5 a step, up to ``ivf_max_nprobe`` and the index's lists) until recall
    reaches ``min_index_recall``. Returns the recall reached and, when it reaches the floor, what was widened (for
    the manifest); otherwise the index keeps its count and exact search replaces it. The build's vectors decide how
    many lists a query's top candidates spread over: a 1M-product bundle measured recall@1000 .95 over 16 of its
    1,000 lists and .99 over 24 (a search for 1,500 rows: 0.66 ms over 24 lists since the lists are stored at a SIMD
    width), where exact search, which the build used to fall back to at once, scans every row (bench.run's creator
    floor: 6.8 ms p50 with IVF, 19.9 ms exact)."""
    start, nprobe = index.nprobe, index.nprobe
    limit = min(settings.ivf_max_nprobe, index.nlist_ or settings.ivf_max_nprobe)
    while recall < settings.min_index_recall and nprobe < limit:
        nprobe = min(limit, max(nprobe + 1, int(nprobe * 1.5)))
        index.set_nprobe(nprobe)
        recall = index.recall_at_k(queries, depth, exact)
    if recall >= settings.min_index_recall:
        return recall, f"nprobe {start} -> {nprobe}: recall@{depth} {recall:.4f}"
    index.set_nprobe(start)
    return recall, None


def build_retriever(
    tables: FeatureTables, rankers: dict[Direction, LambdaRanker], settings: RetrievalSettings, seed: int
) -> tuple[Retriever, dict[str, Any]]:
    """Fit retrieval weights per direction, build both FAISS indexes and measure their recall."""
    rng = np.random.default_rng(seed)
    prior, column, prior_seconds = None, None, 0.0
    if settings.prior_anchors > 0:
        started = time.perf_counter()
        prior, column = ProductPrior.fit(tables, rankers[Direction.CREATOR], settings.prior_anchors, rng)
        prior_seconds = round(time.perf_counter() - started, 2)
    u, v, names = retrieval_blocks(tables, product_prior=column)
    weights = {d: _distill(tables, rankers[d], u, v, d, settings.distill_queries, rng) for d in DIRECTIONS}

    def index(kind: str = settings.index_type) -> VectorIndex:
        return VectorIndex(
            kind=kind,  # type: ignore[arg-type]
            exact_threshold=settings.exact_threshold,
            nlist=settings.ivf_nlist,
            nprobe=settings.ivf_nprobe,
            hnsw_m=settings.hnsw_m,
            ef_search=settings.hnsw_ef_search,
            seed=seed,
            codec=settings.ivf_codec,
        )

    started = time.perf_counter()
    # Each side's index is searched by the other side's direction: it holds its vectors scaled by those weights.
    sides: dict[Direction, tuple[np.ndarray, np.ndarray, np.ndarray]] = {
        Direction.CREATOR: (v, u, weights[Direction.CREATOR]),  # products index, queried by creator vectors
        Direction.PRODUCT: (u, v, weights[Direction.PRODUCT]),  # creators index, queried by product vectors
    }
    built: dict[Direction, VectorIndex] = {}
    metrics: dict[str, Any] = {"retrieval_dim": len(names)}
    if prior is not None:
        metrics["prior_anchors"] = int((prior.anchors >= 0).sum(axis=1).max())
        metrics["prior_seconds"] = prior_seconds
    for direction, (items, query_side, scale) in sides.items():
        side = direction.candidate_side
        item_index = index().fit(items, scale=scale)
        sample = rng.choice(len(query_side), size=min(settings.recall_queries, len(query_side)), replace=False)
        queries = query_side[sample]
        depth = min(settings.candidates, item_index.n_rows)
        exact = item_index.exact_search(queries, depth)[1]
        recall = item_index.recall_at_k(queries, depth, exact)
        if item_index.kind_ == "ivf" and settings.index_type == "auto" and recall < settings.min_index_recall:
            recall, widened = _widen(item_index, queries, depth, exact, recall, settings)
            if widened is not None:
                metrics[f"{side}_index_widened"] = widened
        if item_index.kind_ != "flat" and settings.index_type == "auto" and recall < settings.min_index_recall:
            # IVF over inner products is fragile when one direction of the vectors dominates every query's score
            # (measured: recall@1000 of 0.11 over 100k creators): exact search keeps the candidates right.
            metrics[f"{side}_index_fallback"] = (
                f"{item_index.kind_} recall@{depth} {recall:.4f} < {settings.min_index_recall}: exact search"
            )
            item_index = index("flat").fit(items, scale=scale)
            recall = 1.0
        metrics[f"{side}_index_kind"] = item_index.kind_
        if item_index.kind_ == "ivf":
            metrics[f"{side}_index_nprobe"] = item_index.nprobe
        metrics[f"{side}_index_recall@candidates"] = round(recall, 4)
        metrics[f"{side}_index_recall@100"] = round(item_index.recall_at_k(queries, 100), 4)
        built[direction] = item_index
    metrics["index_build_seconds"] = round(time.perf_counter() - started, 2)
    retriever = Retriever(built[Direction.CREATOR], built[Direction.PRODUCT], u, v, weights, names, prior)
    k = settings.recall_k
    for direction in DIRECTIONS:
        n_query_side = _sizes(tables, direction)[0]
        queries = rng.choice(n_query_side, size=min(settings.recall_queries, n_query_side), replace=False)
        query_vecs = np.vstack([retriever.base(direction, int(q)) for q in queries])
        _, found = retriever.index_for(direction).search(query_vecs, k)
        retrieved = [r[r >= 0] for r in found]
        top10, ndcg = [], []
        for q, got in zip(queries, retrieved, strict=True):  # one query's scores at a time (1M items: 8 MB each)
            scores = _ranker_scores(tables, rankers[direction], direction, int(q))
            top10.append(_top(scores, 10))
            ndcg.append(ndcg_vs_exhaustive(scores, got))
        metrics[f"{direction}_recall@{k}_of_ranker_top10"] = round(recall_of_top(top10, retrieved), 4)
        metrics[f"{direction}_ndcg@10_vs_exhaustive@{k}"] = round(float(np.mean(ndcg)), 4)
    return retriever, metrics
