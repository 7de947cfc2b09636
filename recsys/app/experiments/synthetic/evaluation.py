"""Scoring and evaluation pieces of the synthetic-marketplace experiment.

Two protocols, both per direction (``c2p``: a creator's query ranks products; ``p2c``: a product's query ranks
creators):

- *logged*: the held-out test window's promotions; each query ranks the candidates it really promoted (or was
  promoted by), gains = realized GMV. The oracle ranks by the generator's true expected GMV of each promotion
  (its format and commission rate), the best any model could do on average.
- *full catalogue*: for sampled queries, the top 10 of the whole eligible catalogue (plan rules applied) against the
  true expected GMV of every eligible candidate; the ideal list scores 1.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.stats import spearmanr

from features.tables import FeatureTables
from models.engine import Engine
from models.matching.matcher import Recommendation
from models.training.windows import Groups
from recsys.core import metrics
from recsys.core.rules import PlanBook
from recsys.core.schema import Marketplace
from recsys.core.synth import GroundTruth
from recsys.core.vocab import Direction

KS = (1, 3, 5, 10)
TAG: dict[Direction, str] = {Direction.CREATOR: "c2p", Direction.PRODUCT: "p2c"}
PIPELINE, RETRIEVAL, POPULARITY, KNN, RANDOM, ORACLE = (
    "full pipeline",
    "retrieval-only",
    "popularity",
    "item-kNN",
    "random",
    "oracle (ground truth)",
)
# full catalogue only: the pipeline's list as a merchant may sort it (creators for a product, ``sort=expected_gmv``)
# and the pipeline with the exposure controls off (no exposure decay, new-creator boost or room factor) — what those
# controls cost against true GMV, which the market protocol weighs against the matches they make happen
BY_GMV, NO_EXPOSURE = "full pipeline, by expected GMV", "full pipeline, no exposure controls"
# variants of the pipeline's lists that exist only for the full catalogue (the logged protocol reranks real pairs)
PART_ONLY = {
    BY_GMV: "full catalogue, product → creators only (the merchant's sort=expected_gmv)",
    NO_EXPOSURE: "full catalogue only (exposure decay, new-creator boost and capacity room set to 0)",
}


def feature_column(tables: FeatureTables, side: Direction, name: str) -> np.ndarray:
    """Column ``name`` of ``side``'s feature table, every row (``side``: whose table — creators or products)."""
    table, names = side.select((tables.creator, tables.creator_names), (tables.product, tables.product_names))
    return table[:, names.index(name)]


def candidate_popularity(tables: FeatureTables, d: Direction) -> np.ndarray:
    """The popularity baseline's score of every candidate of direction ``d``: its 90-day log GMV."""
    side = Direction(d.candidate_side)
    return feature_column(tables, side, side.select("c_log_gmv_90d", "p_log_gmv_90d"))


def truth_rows(truth: GroundTruth, engine: Engine, c: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ground-truth rows of bundle rows (the generator and the bundle may order entities differently)."""
    tc = pd.Index(truth.creator_ids).get_indexer(engine.tables.creators.ids[c])
    tp = pd.Index(truth.product_ids).get_indexer(engine.tables.products.ids[p])
    return tc, tp


def knn_scores(history: pd.DataFrame, engine: Engine, groups: Groups, neighbours: int = 50) -> np.ndarray:
    """Neighbourhood baseline on the promotion matrix: item-kNN for c2p (similarity of the candidate product to the
    creator's earlier products), creator-kNN for p2c (similarity of the candidate creator to the product's earlier
    creators); cosine similarity, ``neighbours`` strongest kept per row."""
    tables = engine.tables
    c = tables.creators.rows(history["creator_id"])
    p = tables.products.rows(history["product_id"])
    keep = (c >= 0) & (p >= 0)
    m = sp.csr_matrix((np.ones(keep.sum()), (c[keep], p[keep])), shape=(len(tables.creators), len(tables.products)))
    m.data = np.minimum(m.data, 1.0)
    d = Direction(groups.direction)
    by_creator, by_product = m, m.T.tocsr()  # rows = creators / rows = products
    side = d.select(by_product, by_creator)  # rows = the candidate side
    seen_by_query = d.select(by_creator, by_product)  # rows = the query side
    candidates = d.candidate_rows(groups.c_rows, groups.p_rows)
    norms = np.sqrt(np.asarray(side.multiply(side).sum(axis=1))).ravel()
    unit = sp.diags(np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)) @ side
    scores = np.zeros(len(groups.c_rows))
    starts = np.r_[0, np.cumsum(groups.group_sizes)[:-1]]
    for q, start, size in zip(groups.query_rows, starts, groups.group_sizes, strict=True):
        cand = candidates[start : start + size]
        seen = seen_by_query[q].indices
        if len(seen) == 0:
            continue
        sim = (unit[cand] @ unit[seen].T).toarray()
        if sim.shape[1] > neighbours:
            sim = np.sort(sim, axis=1)[:, -neighbours:]
        scores[start : start + size] = sim.sum(axis=1)
    return scores


def logged_per_query(groups: Groups, scores: np.ndarray, query_ids: np.ndarray, tag: str) -> pd.DataFrame:
    """Per-query NDCG@k (k in KS) with realized GMV as linear gains; queries without any sale are skipped."""
    rows = []
    starts = np.r_[0, np.cumsum(groups.group_sizes)[:-1]]
    for q, start, size in zip(query_ids, starts, groups.group_sizes, strict=True):
        gains = groups.gain[start : start + size]
        if not np.any(gains > 0):
            continue
        order = np.lexsort((np.arange(size), -scores[start : start + size]))
        relevant = {i: float(g) for i, g in enumerate(gains) if g > 0}
        row: dict[str, object] = {"query": f"{tag}:{q}"}
        for k in KS:
            row[f"{tag}_ndcg@{k}"] = metrics.ndcg_at_k(list(order), relevant, k)
        rows.append(row)
    return pd.DataFrame(rows)


def full_catalogue_lists(
    engine: Engine,
    matcher_lists: dict[int, np.ndarray],
    eligible: dict[int, np.ndarray],
    true_gain: dict[int, np.ndarray],
    tag: str,
    k: int = 10,
) -> pd.DataFrame:
    """Per-query NDCG@k of ``matcher_lists`` (rows of the candidate side, best first) against true expected GMV of
    every eligible candidate (``true_gain`` aligned with ``eligible``)."""
    rows = []
    for q, ranked in matcher_lists.items():
        gains = dict(zip(eligible[q].tolist(), true_gain[q].tolist(), strict=True))
        value = metrics.ndcg_at_k(list(ranked[:k]), {i: g for i, g in gains.items() if g > 0}, k)
        rows.append({"query": f"{tag}_full:{q}", f"{tag}_full_ndcg@{k}": value})
    return pd.DataFrame(rows)


def test_market(market: Marketplace, test_start: pd.Timestamp) -> Marketplace:
    """The marketplace as it stood before ``test_start``: later promotions and their orders removed."""
    promotions = market.promotions[market.promotions["started_at"] < test_start]
    orders = market.orders[market.orders["promotion_id"].isin(promotions["promotion_id"])]
    # sample requests ride along: the features read them point in time (features.samples)
    samples = market.sample_requests[market.sample_requests["requested_at"] < test_start]
    return Marketplace(market.merchants, market.products, market.creators, market.plans, promotions, orders, samples)


def weight_in_list(recs: list[Recommendation], engine: Engine, truth: GroundTruth) -> tuple[float, float, float, float]:
    """(interquartile range of the list's distribution weights, their Spearman correlation with the items' true
    GPM — does the weight separate good from ordinary content within one list? —, the list's total predicted GMV,
    its total true expected GMV of one promotion per pair)."""
    weight = np.array([r.distribution_weight for r in recs])
    tc, tp = truth_rows(truth, engine, np.array([r.creator_row for r in recs]), np.array([r.product_row for r in recs]))
    funnel = truth.funnel(tc, tp, rate=np.array([r.commission_rate for r in recs]))
    gpm = 1000 * funnel["gmv"] / np.maximum(funnel["views"], 1e-9)
    q75, q25 = np.percentile(weight, [75, 25])
    agreement = spearmanr(weight, gpm).statistic if np.ptp(weight) > 0 and np.ptp(gpm) > 0 else np.nan
    predicted = float(sum(r.predicted_gmv for r in recs))
    return float(q75 - q25), float(agreement), predicted, float(funnel["gmv"].sum())


def list_spread(exposure: np.ndarray, d: Direction, book: PlanBook) -> dict[str, float]:
    """How widely the pipeline's full-catalogue lists (k = 20) spread: distinct candidates over the admitted ones and
    the share of slots the top 1% of candidates hold."""
    admitted = int(d.select(book.admitted_products, book.admitted_creators).sum())
    slots = int(exposure.sum())
    top = np.sort(exposure)[::-1][: max(1, len(exposure) // 100)].sum()
    return {
        f"{TAG[d]}_distinct_over_admitted": float((exposure > 0).sum() / max(admitted, 1)),
        f"{TAG[d]}_top1pct_slot_share": float(top / max(slots, 1)),
    }
