"""Candidate retrieval in both directions: FAISS over product vectors (creator -> products) and creator vectors
(product -> creators).

Both sides are built from aligned blocks so that an inner product is a sum of interpretable interactions:

- audience: creator audience shares · product target shares (missing targets: category mean);
- category: the creator's listed categories and recent GMV share by category · the product's category;
- price: a full quadratic of (product log price − the creator's usual log price);
- collaborative: SVD factors of the promotion matrix (content-mapped for cold starts);
- embeddings: the data's creator / product embedding columns;
- main effects: standardised product features × 1 and creator features × 1.

The weight of every dimension is *distilled from the ranker*: a ridge regression of the ranker's scores on the
elementwise products, demeaned within each query (per direction, since only within-query order matters). Each side's
index holds its vectors multiplied by the weights of the direction that searches it (products by the creator ->
products weights, creators by the product -> creators weights), so a query is the other side's plain vector and IVF
clusters along the dimensions that matter to that direction.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from features.tables import FeatureTables
from models.retrieval.ann import VectorIndex
from models.retrieval.prior import ProductPrior, Scorer
from models.retrieval.rows import strided_blocks
from recsys.core.vocab import DIRECTIONS, Direction

PRIOR_DIM = "product_prior"

_PRODUCT_MAIN = [
    "p_log_price",
    "p_rating",
    "p_service_score",
    "p_best_rate",
    "p_log_gmv_30d",
    "p_log_gmv_90d",
    "p_promotions_90d",
    "p_conversion_90d",
    "p_gpm_90d",
    "p_has_history",
    "p_days_listed",
    "m_experience_score",
    "p_n_creators_90d",
]
_CREATOR_MAIN = [
    "c_log_followers",
    "c_log_avg_views",
    "c_like_rate",
    "c_comment_rate",
    "c_share_rate",
    "c_completion_rate",
    "c_log_gmv_30d",
    "c_log_gmv_90d",
    "c_promotions_90d",
    "c_conversion_90d",
    "c_gpm_90d",
    "c_has_history",
]


@dataclass(frozen=True)
class RetrievalNorms:
    """What turns feature rows into retrieval vectors beyond the rows themselves: the mean and standard deviation of
    each main-effect column over a bundle's rows, and the usual log price a creator without history takes. Kept from
    the bundle's tables, so vectors computed later for new rows (``models.overlay``) sit in the same space."""

    creator_mean: np.ndarray
    creator_std: np.ndarray
    product_mean: np.ndarray
    product_std: np.ndarray
    usual_log_price: float

    @classmethod
    def of(cls, tables: FeatureTables) -> RetrievalNorms:
        c = np.asarray(tables.creator[:, _main_columns(tables.creator_names, _CREATOR_MAIN)], dtype=np.float64)
        p = np.asarray(tables.product[:, _main_columns(tables.product_names, _PRODUCT_MAIN)], dtype=np.float64)
        usual = tables.arrays["creator_usual_log_price"].astype(np.float64)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN column stays NaN, as before
            return cls(
                np.nanmean(c, axis=0),
                np.nanstd(c, axis=0),
                np.nanmean(p, axis=0),
                np.nanstd(p, axis=0),
                float(np.nanmean(usual)) if np.isfinite(usual).any() else 0.0,
            )


def _main_columns(names: list[str], wanted: list[str]) -> list[int]:
    return [names.index(n) for n in wanted if n in names]


def _standardise(matrix: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    m = np.asarray(matrix, dtype=np.float64)
    out = (m - mean) / np.where(std > 0, std, 1.0)
    return np.nan_to_num(out, nan=0.0)


def retrieval_blocks(
    tables: FeatureTables,
    norms: RetrievalNorms | None = None,
    creator_rows: np.ndarray | None = None,
    product_rows: np.ndarray | None = None,
    product_prior: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Aligned (creator vectors U, product vectors V, dimension names) before weighting.

    ``norms``: standardisation of the main effects (default: of ``tables`` itself, as training does);
    ``creator_rows`` / ``product_rows``: only these rows (default: all); ``product_prior``: the standardised ranker
    prior of those product rows (:mod:`models.retrieval.prior`), the last dimension (creator side 1) when given."""
    norms = norms if norms is not None else RetrievalNorms.of(tables)
    a = tables.arrays
    c_sel = slice(None) if creator_rows is None else np.asarray(creator_rows, dtype=np.int64)
    p_sel = slice(None) if product_rows is None else np.asarray(product_rows, dtype=np.int64)
    n_c = len(tables.creators) if creator_rows is None else len(c_sel)  # type: ignore[arg-type]
    n_p = len(tables.products) if product_rows is None else len(p_sel)  # type: ignore[arg-type]
    k = len(tables.categories)
    one_hot = np.eye(k, dtype=np.float64)[a["product_category"][p_sel]]
    usual = a["creator_usual_log_price"][c_sel].astype(np.float64)
    usual = np.where(np.isnan(usual), norms.usual_log_price, usual)
    lp = a["product_log_price"][p_sel].astype(np.float64)
    u_blocks = [
        a["creator_audience"][c_sel],
        a["creator_category_listed"][c_sel],
        a["creator_category_gmv_share"][c_sel],
        np.column_stack([2 * usual, -np.ones(n_c), -(usual**2)]),
        a["cf_creator"][c_sel],
    ]
    v_blocks = [
        a["product_target"][p_sel],
        one_hot,
        one_hot,
        np.column_stack([lp, lp**2, np.ones(n_p)]),
        a["cf_product"][p_sel],
    ]
    names = (
        [f"audience_{i}" for i in range(a["creator_audience"].shape[1])]
        + [f"category_listed_{c}" for c in tables.categories]
        + [f"category_gmv_{c}" for c in tables.categories]
        + ["price_linear", "price_square", "price_centre"]
        + [f"cf_{i}" for i in range(a["cf_creator"].shape[1])]
    )
    for key in sorted(a):
        if key.startswith("cemb_"):
            for p_key in sorted(a):
                if p_key.startswith("pemb_") and a[p_key].shape[1] == a[key].shape[1]:
                    u_blocks.append(a[key][c_sel])
                    v_blocks.append(a[p_key][p_sel])
                    names += [f"{key}__{p_key}_{i}" for i in range(a[key].shape[1])]
    p_cols = _main_columns(tables.product_names, _PRODUCT_MAIN)
    c_cols = _main_columns(tables.creator_names, _CREATOR_MAIN)
    u_blocks += [
        np.ones((n_c, len(p_cols))),
        _standardise(tables.creator[c_sel][:, c_cols], norms.creator_mean, norms.creator_std),
    ]
    v_blocks += [
        _standardise(tables.product[p_sel][:, p_cols], norms.product_mean, norms.product_std),
        np.ones((n_p, len(c_cols))),
    ]
    names += [f"product_{tables.product_names[i]}" for i in p_cols] + [
        f"creator_{tables.creator_names[i]}" for i in c_cols
    ]
    if product_prior is not None:
        u_blocks.append(np.ones((n_c, 1)))
        v_blocks.append(np.asarray(product_prior, dtype=np.float64).reshape(n_p, 1))
        names.append(PRIOR_DIM)
    u = np.hstack([np.asarray(b, dtype=np.float64) for b in u_blocks])
    v = np.hstack([np.asarray(b, dtype=np.float64) for b in v_blocks])
    return np.nan_to_num(u).astype(np.float32), np.nan_to_num(v).astype(np.float32), names


def fit_weights(
    u: np.ndarray,
    v: np.ndarray,
    c_rows: np.ndarray,
    p_rows: np.ndarray,
    target: np.ndarray,
    query: np.ndarray,
    alpha: float = 1.0,
) -> np.ndarray:
    """Ridge weights w so that sum(w * u[c] * v[p]) tracks ``target`` within each ``query`` (both demeaned)."""
    order = np.argsort(query, kind="stable")
    z = u[c_rows[order]] * v[p_rows[order]]  # float32 keeps the sample small
    y, q = np.asarray(target, dtype=np.float64)[order], query[order]
    starts = np.r_[0, np.flatnonzero(np.diff(q)) + 1]
    counts = np.diff(np.r_[starts, len(q)])
    z -= np.repeat(
        (np.add.reduceat(z, starts, axis=0, dtype=np.float64) / counts[:, None]).astype(np.float32), counts, axis=0
    )
    y = y - np.repeat(np.add.reduceat(y, starts) / counts, counts)
    scale = np.sqrt((z.astype(np.float64) ** 2).mean(axis=0)) + 1e-9
    zs = z / scale.astype(np.float32)
    gram = (zs.T @ zs).astype(np.float64) + alpha * len(y) / 1000.0 * np.eye(z.shape[1])
    w = np.linalg.solve(gram, zs.T.astype(np.float64) @ y) / scale
    return w.astype(np.float32)


@dataclass
class Retriever:
    """Two FAISS indexes (products, creators) and the per-direction query weights."""

    product_index: VectorIndex
    creator_index: VectorIndex
    creator_vectors: np.ndarray  # U, (n_c, D)
    product_vectors: np.ndarray  # V, (n_p, D)
    weights: dict[Direction, np.ndarray]  # direction -> (D,)
    dim_names: list[str]
    prior: ProductPrior | None = None  # the ranker prior dimension (bundles built before it have none)
    # A digest of the vectors and weights, written at save and carried through ``with_rows``, so that caches keyed
    # on them (``models.matching.market.list_exposure``) need not read 1M mapped vectors to know them. None: not
    # known (a bundle written before it); such callers digest the vectors themselves.
    fingerprint: str | None = None

    def _digest(self) -> str:
        digest = hashlib.blake2b(digest_size=16)
        for d in DIRECTIONS:
            digest.update(np.ascontiguousarray(self.weights[d], dtype=np.float32).view(np.uint8).data)
        for vectors in (self.creator_vectors, self.product_vectors):
            digest.update(repr(vectors.shape).encode())
            for start in range(0, len(vectors), 65_536):
                digest.update(np.ascontiguousarray(vectors[start : start + 65_536]).view(np.uint8).data)
        return digest.hexdigest()

    def base(self, direction: Direction, row: int) -> np.ndarray:
        """The unweighted vector of a creator row (direction "creator") or product row ("product"): what is sent
        to the other side's index, which holds its vectors already multiplied by this direction's weights."""
        vectors = direction.select(self.creator_vectors, self.product_vectors)
        index = direction.select(self.creator_index, self.product_index)
        if index.vectors_ is vectors:  # the index's own rows: read one from its file when mapped
            return index.row(row)
        return np.asarray(vectors[row])

    def index_for(self, direction: Direction) -> VectorIndex:
        """The index a direction's queries search: products for creator queries, creators for product queries."""
        return direction.select(self.product_index, self.creator_index)

    def candidate_vectors(self, direction: Direction) -> np.ndarray:
        """The unweighted vectors of the side a direction ranks."""
        return direction.select(self.product_vectors, self.creator_vectors)

    def candidate_rows(self, direction: Direction, rows: np.ndarray) -> np.ndarray:
        """Rows of :meth:`candidate_vectors`, read from the index's file when it is mapped (not faulted in)."""
        vectors, index = self.candidate_vectors(direction), self.index_for(direction)
        return index.rows(rows) if index.vectors_ is vectors else np.asarray(vectors[rows])

    def pair_scores(self, direction: Direction, queries: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Retrieval scores (float64) of pairs: query row ``queries[i]`` against candidate row ``rows[i]``. A flat
        index holding the retriever's own vectors answers from its rows in memory (the vectors times the weights);
        otherwise the candidates' vectors are read as :meth:`candidate_rows` reads them. A product list's affinity
        read its 200 creator vectors with ``pread`` while the flat creator index held them."""
        if len(rows) == 0:
            return np.empty(0)
        distinct, inverse = np.unique(queries, return_inverse=True)
        index = self.index_for(direction)
        stored = index.stored_rows(rows) if index.vectors_ is self.candidate_vectors(direction) else None
        if stored is None:
            weighted = np.stack([self.query(direction, int(q)) for q in distinct]).astype(np.float64)
            return np.einsum("ij,ij->i", weighted[inverse], self.candidate_rows(direction, rows).astype(np.float64))
        base = np.stack([self.base(direction, int(q)) for q in distinct]).astype(np.float64)
        if index.columns_ is not None:
            base = base[:, index.columns_]
        return np.einsum("ij,ij->i", base[inverse], stored.astype(np.float64))

    def candidate_every(self, direction: Direction, step: int, block: int = 65_536) -> Iterator[np.ndarray]:
        """Every ``step``-th row of :meth:`candidate_vectors`, ``block`` at a time, read as :meth:`candidate_rows`
        reads."""
        vectors, index = self.candidate_vectors(direction), self.index_for(direction)
        return index.every(step, block) if index.vectors_ is vectors else strided_blocks(vectors, step, block)

    def query(self, direction: Direction, row: int) -> np.ndarray:
        """The weighted query vector, to score against the other side's unweighted vectors."""
        return (self.weights[direction] * self.base(direction, row)).astype(np.float32)

    def candidates(
        self, direction: Direction, row: int, n: int, allowed: np.ndarray | None = None, overfetch: float = 2.0
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``n`` (scores, rows) of the other side for a query row; ``allowed`` filters rows (kept full)."""
        return self.index_for(direction).search_filtered(self.base(direction, row), n, allowed, overfetch)

    def scores(self, direction: Direction, row: int, others: np.ndarray) -> np.ndarray:
        """Retrieval scores of given rows of the other side (for retrieval-only baselines and diagnostics)."""
        return self.candidate_vectors(direction)[others] @ self.query(direction, row)

    def with_rows(
        self,
        tables: FeatureTables,
        norms: RetrievalNorms,
        creator_rows: np.ndarray,
        product_rows: np.ndarray,
        ranker: Scorer | None = None,
    ) -> Retriever:
        """A retriever whose vectors of ``creator_rows`` / ``product_rows`` of ``tables`` (rows past the current
        ones are new) are computed from the tables with ``norms``, and whose indexes hold them; weights unchanged.
        ``ranker`` (the creator -> products ranker) scores the new products' prior when the retriever has one."""
        prior = None
        if self.prior is not None:
            if ranker is None:
                raise ValueError("this retriever has a ranker prior dimension: new rows need the ranker to score it")
            prior = self.prior.column(tables, ranker, product_rows)
        u_rows, v_rows, names = retrieval_blocks(tables, norms, creator_rows, product_rows, prior)
        if names != self.dim_names:
            raise ValueError("the new rows' retrieval dimensions differ from the bundle's")

        def grown(vectors: np.ndarray, rows: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
            out = np.zeros((n, vectors.shape[1]), np.float32)
            out[: len(vectors)] = vectors
            out[rows] = values
            return out

        n_c, n_p = len(tables.creators), len(tables.products)
        u = grown(self.creator_vectors, creator_rows, u_rows, n_c)
        v = grown(self.product_vectors, product_rows, v_rows, n_p)
        creators_appended = bool(np.all(creator_rows >= len(self.creator_vectors)))
        products_appended = bool(np.all(product_rows >= len(self.product_vectors)))
        fingerprint = None
        if self.fingerprint is not None:  # the old vectors' digest plus what changed
            digest = hashlib.blake2b(self.fingerprint.encode(), digest_size=16)
            for part in (creator_rows, u_rows, product_rows, v_rows):
                digest.update(repr(part.shape).encode())
                digest.update(np.ascontiguousarray(part).view(np.uint8).data)
            fingerprint = digest.hexdigest()
        return Retriever(
            self.product_index.with_vectors(v, products_appended),
            self.creator_index.with_vectors(u, creators_appended),
            u,
            v,
            self.weights,
            self.dim_names,
            self.prior,
            fingerprint,
        )

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.product_index.save(directory, "products")
        self.creator_index.save(directory, "creators")
        meta: dict[str, object] = {
            "weights": {k: v.tolist() for k, v in self.weights.items()},
            "dim_names": self.dim_names,
        }
        if self.prior is not None:
            meta["prior"] = self.prior.to_json()
        if self.fingerprint is None:
            self.fingerprint = self._digest()
        meta["fingerprint"] = self.fingerprint
        (directory / "retrieval.json").write_text(json.dumps(meta))

    @classmethod
    def load(cls, directory: Path, mmap: bool = False) -> Retriever:
        meta = json.loads((directory / "retrieval.json").read_text())
        products = VectorIndex.load(directory, "products", mmap=mmap)
        creators = VectorIndex.load(directory, "creators", mmap=mmap)
        weights: dict[Direction, np.ndarray] = {d: np.asarray(meta["weights"][d], dtype=np.float32) for d in DIRECTIONS}
        if products.dim != creators.dim or any(len(w) != products.dim for w in weights.values()):
            raise ValueError("retrieval indexes and weights disagree on the vector dimension")
        prior = ProductPrior.from_json(meta["prior"]) if "prior" in meta else None
        if (prior is not None) != (PRIOR_DIM in meta["dim_names"]):
            raise ValueError("retrieval.json: the ranker prior and its dimension disagree")
        return cls(
            products,
            creators,
            creators.vectors_,
            products.vectors_,
            weights,
            list(meta["dim_names"]),
            prior,
            meta.get("fingerprint"),
        )
