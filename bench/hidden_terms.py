"""How much of the full-catalogue ideal the synthetic truth's hidden terms hold: the diagnostic behind
docs/matching.md, "What caps creator → products on the full catalogue".

    python -m bench.hidden_terms --seed 7

The world, split, engine and queries are those of ``python -m bench.gmv_variants`` (the synthetic experiment's:
5,000 creators × 20,000 products, the last 30 days held out; 100 creator and 200 product queries, every eligible
new candidate of each). Printed, NDCG@10 against the truth's expected GMV of every candidate, per direction:

1. **Oracles missing one hidden term**: the candidates ordered by the truth itself with one of its hidden terms
   replaced by its mean (product appeal, the taste factors, creator skill): what a model that learned everything
   else exactly would reach.
2. **The GMV model given the product's appeal**: the default GMV model (new collaborations, 15 leaves, 200 rows
   per leaf) refitted on the engine's label windows with the truth's appeal of each product as one more feature —
   exact, and with Gaussian noise of 0.5 and 1 standard deviation (correlation .90 and .71 with the truth) — and
   with an estimate the logs do allow instead (:func:`adjusted_ctr`, point in time: each label window gets it from
   the promotions before its start), next to the same model without any; orders ``log GMV + 0.5·z`` as the lists
   do.
3. **Is taste in the logs?** The correlation, over 30,000 random (creator, product) pairs with history on both
   sides, between the truth's taste term and (a) the engine's collaborative score and (b) a rank-6 factorization
   of the promotions' log-GMV residuals after creator and product main effects.

Nothing here is a setting or a model of the service: it bounds what better estimates could reach. 2½–4 minutes a
seed on 2 cores.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.utils.extmath import randomized_svd

from bench.gmv_variants import Query, fit_variant, prepare, query_ndcg
from features.tables import FeatureTables
from models.gbm.regressor import GBMRegressor
from models.training.windows import LabelWindow
from recsys.app.experiments.synthetic.evaluation import truth_rows
from recsys.app.experiments.synthetic.experiment import Split
from recsys.core.synth import GroundTruth
from recsys.core.vocab import Direction

BETA = 0.5  # the lists' default matching.retrieval_blend


def blanked_truths(truth: GroundTruth) -> dict[str, GroundTruth]:
    """The truth with one hidden term at a time replaced by its mean (taste: the products' factors set to zero,
    so the taste term is 0 for every pair)."""
    return {
        "no product appeal": dataclasses.replace(truth, appeal=np.full_like(truth.appeal, truth.appeal.mean())),
        "no taste": dataclasses.replace(truth, product_taste=np.zeros_like(truth.product_taste)),
        "no appeal, no taste": dataclasses.replace(
            truth,
            appeal=np.full_like(truth.appeal, truth.appeal.mean()),
            product_taste=np.zeros_like(truth.product_taste),
        ),
        "no creator skill": dataclasses.replace(truth, skill=np.full_like(truth.skill, truth.skill.mean())),
    }


def oracle_ndcg(split: Split, queries: list[Query], truth: GroundTruth) -> float:
    """Mean NDCG@10 of ordering each query's candidates by ``truth``'s expected GMV."""
    engine = split.engine
    return float(
        np.mean([query_ndcg(q, truth.expected_gmv(*truth_rows(truth, engine, q.c, q.p), rate=q.rate)) for q in queries])
    )


class WithColumn:
    """A window's feature tables whose vectors carry one more column, ``column[p]`` (delegates the rest)."""

    def __init__(self, tables: FeatureTables, column: np.ndarray) -> None:
        self._tables, self._column = tables, column

    def vectors(self, c: np.ndarray, p: np.ndarray, *args: Any, **kwargs: Any) -> np.ndarray:
        return np.column_stack([self._tables.vectors(c, p, *args, **kwargs), self._column[p]])

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tables, name)


def product_appeal(split: Split) -> np.ndarray:
    """The truth's appeal of each product, in the tables' product rows."""
    rows = pd.Index(split.truth.product_ids).get_indexer(split.engine.tables.products.ids)
    return np.asarray(split.truth.appeal[rows])


def list_ndcg(model: GBMRegressor, queries: list[Query], column: np.ndarray | None = None) -> float:
    """Mean NDCG@10 of ``log GMV + BETA·z`` over ``queries`` (``column``: the extra feature, per product row)."""
    scores = []
    for q in queries:
        X = q.X if column is None else np.column_stack([q.X, column[q.p]])
        scores.append(query_ndcg(q, np.log(np.maximum(model.predict(X), 1e-9)) + BETA * q.z))
    return float(np.mean(scores))


def fit_with_column(
    split: Split,
    windows: list[LabelWindow],
    valid: LabelWindow,
    column_at: Callable[[pd.Timestamp], np.ndarray],
    seed: int,
) -> GBMRegressor:
    """The default GMV model fitted with one more feature, ``column_at(window start)`` per product row."""

    def extended(w: LabelWindow) -> LabelWindow:
        tables: Any = WithColumn(w.tables, column_at(w.start))
        tables.feature_names = [*w.tables.feature_names, "truth_appeal"]  # the names the fit reads
        return dataclasses.replace(w, tables=tables)

    return fit_variant(split, [extended(w) for w in windows], extended(valid), "default", seed)


def adjusted_ctr(split: Split, before: pd.Timestamp, prior: float = 3.0) -> np.ndarray:
    """Per product row, from the promotions started before ``before``: log of its clicks over the clicks its
    promoters' own click-through rates predict for its views (both shrunk: creators' rates towards the overall rate
    by 5 clicks' worth, the ratio by ``prior`` clicks); NaN without promotions. A point-in-time estimate of appeal
    from the logs (the truth's appeal raises the click-through rate; the creator's skill and audience do too, which
    the promoters' own rates take out)."""
    tables, promotions = split.engine.tables, split.past.promotions
    c = tables.creators.rows(promotions["creator_id"])
    p = tables.products.rows(promotions["product_id"])
    ok = (c >= 0) & (p >= 0) & (promotions["started_at"] < before).to_numpy()
    c, p = c[ok], p[ok]
    views, clicks = (promotions[col].to_numpy(np.float64)[ok] for col in ("views", "clicks"))
    n_c, n_p = len(tables.creators), len(tables.products)
    overall = clicks.sum() / max(views.sum(), 1.0)
    creator_rate = (np.bincount(c, clicks, n_c) + 5.0) / (np.bincount(c, views, n_c) + 5.0 / overall)
    expected = np.bincount(p, views * creator_rate[c], n_p)
    out = np.log((np.bincount(p, clicks, n_p) + prior) / (expected + prior))
    out[np.bincount(p, minlength=n_p) == 0] = np.nan
    return out


def taste_in_logs(split: Split, seed: int, pairs: int = 30_000, rank: int = 6) -> tuple[float, float]:
    """Correlation of the truth's taste term with (the engine's CF score, a residual factorization's score) over
    random pairs whose creator and product both have history."""
    tables, truth, engine = split.engine.tables, split.truth, split.engine
    promotions = split.past.promotions
    c = tables.creators.rows(promotions["creator_id"])
    p = tables.products.rows(promotions["product_id"])
    ok = (c >= 0) & (p >= 0)
    c, p, y = c[ok], p[ok], np.log1p(promotions["gmv"].to_numpy()[ok])
    n_c, n_p = len(tables.creators), len(tables.products)
    a, b, mu = np.zeros(n_c), np.zeros(n_p), y.mean()
    for _ in range(10):  # creator and product main effects, ridge-shrunk (3 promotions' worth)
        a = np.bincount(c, y - mu - b[p], n_c) / (np.bincount(c, minlength=n_c) + 3.0)
        b = np.bincount(p, y - mu - a[c], n_p) / (np.bincount(p, minlength=n_p) + 3.0)
    residual = sp.csr_matrix((y - mu - a[c] - b[p], (c, p)), shape=(n_c, n_p))
    count = sp.csr_matrix((np.ones(len(c)), (c, p)), shape=(n_c, n_p))
    residual.sum_duplicates()
    count.sum_duplicates()
    residual.data /= count.data  # the mean residual of each pair
    u, s, vt = randomized_svd(residual, n_components=rank, random_state=seed, n_iter=4)
    rng = np.random.default_rng(seed)
    ec, ep = rng.integers(0, n_c, pairs), rng.integers(0, n_p, pairs)
    keep = (np.bincount(c, minlength=n_c) > 0)[ec] & (np.bincount(p, minlength=n_p) > 0)[ep]
    ec, ep = ec[keep], ep[keep]
    tc, tp = truth_rows(truth, engine, ec, ep)
    taste = np.einsum("ij,ij->i", truth.creator_taste[tc], truth.product_taste[tp])
    cf = np.einsum("ij,ij->i", tables.arrays["cf_creator"][ec], tables.arrays["cf_product"][ep])
    factorized = np.einsum("ij,ij->i", u[ec] * s, vt.T[ep])
    return float(np.corrcoef(cf, taste)[0, 1]), float(np.corrcoef(factorized, taste)[0, 1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=7, help="World and training seed (default 7).")
    args = parser.parse_args()
    started = time.perf_counter()
    split, windows, valid, queries = prepare(args.seed)
    directions = (Direction.CREATOR, Direction.PRODUCT)
    print(f"{'order':44s} " + " ".join(f"{d.value:>8s}" for d in directions))
    for name, truth in blanked_truths(split.truth).items():
        print(
            f"{'truth, ' + name:44s} " + " ".join(f"{oracle_ndcg(split, queries[d], truth):8.4f}" for d in directions)
        )
    appeal = product_appeal(split)
    noise = np.random.default_rng(args.seed).normal(0.0, appeal.std(), len(appeal))
    columns = {
        "GMV model + true appeal": appeal,
        "GMV model + appeal, noise 0.5 sd": appeal + 0.5 * noise,
        "GMV model + appeal, noise 1 sd": appeal + noise,
    }
    baseline = fit_variant(split, windows, valid, "default", args.seed)
    print(f"{'GMV model (default)':44s} " + " ".join(f"{list_ndcg(baseline, queries[d]):8.4f}" for d in directions))
    for name, column in columns.items():
        model = fit_with_column(split, windows, valid, lambda _, column=column: column, args.seed)
        label = f"{name} (r = {np.corrcoef(column, appeal)[0, 1]:.2f})"
        print(f"{label:44s} " + " ".join(f"{list_ndcg(model, queries[d], column):8.4f}" for d in directions))
    estimate = adjusted_ctr(split, split.test_start)
    known = np.isfinite(estimate)
    model = fit_with_column(split, windows, valid, lambda start: adjusted_ctr(split, start), args.seed)
    label = f"GMV model + creator-adjusted CTR (r = {np.corrcoef(estimate[known], appeal[known])[0, 1]:.2f})"
    print(f"{label:44s} " + " ".join(f"{list_ndcg(model, queries[d], estimate):8.4f}" for d in directions))
    cf, factorized = taste_in_logs(split, args.seed)
    print(
        f"taste term vs the engine's CF score: r = {cf:.3f}; vs a rank-6 residual factorization: r = {factorized:.3f}"
    )
    print(f"[{time.perf_counter() - started:.0f} s]")


if __name__ == "__main__":
    main()
