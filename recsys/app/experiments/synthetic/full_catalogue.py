"""The full-catalogue protocol of the synthetic experiment: for sampled queries, each method's top of the whole
eligible catalogue of new partners (plan rules applied, existing collaborations left out), scored against the true
expected GMV of every eligible candidate; with the lists' distribution weights, reasons and money against the truth."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.engine import Engine
from models.matching.explain import Reason, reason_type_coverage
from models.matching.matcher import Matcher, Recommendation
from recsys.app.experiments.synthetic.evaluation import (
    BY_GMV,
    NO_EXPOSURE,
    ORACLE,
    PIPELINE,
    POPULARITY,
    RANDOM,
    RETRIEVAL,
    TAG,
    candidate_popularity,
    full_catalogue_lists,
    truth_rows,
    weight_in_list,
)
from recsys.core.rules import PlanBook
from recsys.core.synth import GroundTruth
from recsys.core.vocab import CreatorSort, Direction


def new_candidates(matcher: Matcher, d: Direction, query: int) -> tuple[np.ndarray, np.ndarray]:
    """A query's eligible candidates (plan rules applied) that never collaborated with it — discovery: pairs that
    already did are not candidates. (Mask over the candidate side, its rows.)"""
    book = matcher.planbook
    assert book is not None
    mask = d.select(book.eligible_products_mask, book.eligible_creators_mask)(query).copy()
    rows = np.flatnonzero(mask)
    c, p = d.orient(np.full(len(rows), query), rows)
    old = matcher.market.state.existing(c, p)
    mask[rows[old]] = False
    return mask, rows[~old]


def true_gains(
    engine: Engine, truth: GroundTruth, d: Direction, query: int, rows: np.ndarray, rate: np.ndarray
) -> np.ndarray:
    """The truth's expected GMV of each (query, candidate row) pair at its plan rate."""
    c, p = d.orient(np.full(len(rows), query), rows)
    return np.asarray(truth.expected_gmv(*truth_rows(truth, engine, c, p), rate=rate))


def full_catalogue(
    engine: Engine,
    matcher: Matcher,
    plain: Matcher,
    book: PlanBook,
    truth: GroundTruth,
    d: Direction,
    n_queries: int,
    rng: np.random.Generator,
    promotions_per_pair: float,
) -> tuple[dict[str, pd.DataFrame], np.ndarray, dict[str, float]]:
    tables = engine.tables
    weight_spread: list[float] = []
    weight_truth: list[float] = []
    flagged_in_top10: list[bool] = []
    money = [0.0, 0.0]  # the lists' predicted GMV, their true expected GMV (30-day pace of a new pair)
    reasons: list[list[list[Reason]]] = []  # per list of 20: its items' reasons
    methods = (PIPELINE, NO_EXPOSURE, *((BY_GMV,) if d is Direction.PRODUCT else ()), RETRIEVAL, POPULARITY, RANDOM)
    lists: dict[str, dict[int, np.ndarray]] = {m: {} for m in (*methods, ORACLE)}
    eligible: dict[int, np.ndarray] = {}
    gains: dict[int, np.ndarray] = {}
    query_vocab, candidate_vocab = (
        d.select(tables.creators, tables.products),
        d.select(tables.products, tables.creators),
    )
    resolve = d.select(book.products_for_creator, book.creators_for_product)

    def recommend(m: Matcher, query: int, sort: CreatorSort = CreatorSort.FIT) -> list[Recommendation]:
        """``m``'s list of 20 for the query (``sort``: creators for a product only)."""
        query_id = query_vocab.id(query)
        if d is Direction.CREATOR:
            return m.recommend_products(query_id, k=20)
        return m.recommend_creators(query_id, k=20, sort=sort)

    def rows_of(recs: list[Recommendation]) -> np.ndarray:
        return candidate_vocab.rows([d.select(x.product_id, x.creator_id) for x in recs])

    popularity = candidate_popularity(tables, d)
    pool = np.flatnonzero(d.select(book.admitted_creators, book.admitted_products))
    for q in rng.permutation(pool):
        if len(eligible) >= n_queries:
            break
        mask, rows = new_candidates(matcher, d, int(q))
        if len(rows) < 20:
            continue
        res = resolve(int(q), rows)
        eligible[int(q)], gains[int(q)] = rows, true_gains(engine, truth, d, int(q), rows, res.rate)
        recs = recommend(matcher, int(q))
        lists[PIPELINE][int(q)] = rows_of(recs)
        lists[NO_EXPOSURE][int(q)] = rows_of(recommend(plain, int(q)))
        if d is Direction.PRODUCT:
            lists[BY_GMV][int(q)] = rows_of(recommend(matcher, int(q), sort=CreatorSort.EXPECTED_GMV))
        flagged_in_top10.append(any(r.suspected_fake_engagement for r in recs[:10]))
        if len(recs) == 20:
            reasons.append([r.reasons for r in recs])
        if len(recs) >= 5:
            spread, agreement, predicted, true_one = weight_in_list(recs, engine, truth)
            money[0] += predicted
            money[1] += true_one * promotions_per_pair
            weight_spread.append(spread)
            weight_truth.append(agreement)
        popular = popularity[rows]
        lists[RETRIEVAL][int(q)] = engine.retriever.candidates(d, int(q), 10, mask)[1]
        lists[POPULARITY][int(q)] = rows[np.lexsort((rows, -popular))][:10]
        lists[RANDOM][int(q)] = rng.choice(rows, size=10, replace=False)
        lists[ORACLE][int(q)] = rows[np.lexsort((rows, -gains[int(q)]))][:10]
    frames = {m: full_catalogue_lists(engine, lists[m], eligible, gains, TAG[d]) for m in lists}
    exposure = np.bincount(
        np.concatenate(list(lists[PIPELINE].values()) or [np.empty(0, int)]), minlength=len(candidate_vocab)
    )
    weights = {
        f"{TAG[d]}_distribution_weight_iqr_in_list": float(np.median(weight_spread)) if weight_spread else np.nan,
        f"{TAG[d]}_distribution_weight_spearman_true_gpm": float(np.nanmedian(weight_truth))
        if weight_truth
        else np.nan,
    }
    weights[f"{TAG[d]}_lists_with_4_reason_codes"] = reason_type_coverage(reasons)
    weights[f"{TAG[d]}_list_predicted_over_true_gmv"] = money[0] / money[1] if money[1] > 0 else np.nan
    if d is Direction.PRODUCT:  # creators are the items: how often a flagged one still reaches a top 10
        weights["p2c_lists_with_flagged_creator_in_top10"] = (
            float(np.mean(flagged_in_top10)) if flagged_in_top10 else 0.0
        )
    return frames, exposure, weights
