"""Baseline scorers shared by the user–item adapters: random, popularity, item-kNN, ALS (``implicit``) and EASE.

Each follows the estimator contract: the constructor stores settings, ``fit(X)`` learns from a binary
user x item csr matrix ``X`` of shape (n_users, n_items) and returns ``self``, learned state ends in ``_``.
``score(users, X)`` returns dense float32 scores of shape (len(users), n_items) for the given user indices, where
``X`` is the matrix of the users' *input* histories (item-based models read it; ALS uses the factors it learned,
so it must be fitted on the same users). Masking and ranking happen in :mod:`recsys.app.experiments.user_item.fullrank`.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict, Field
from threadpoolctl import threadpool_limits


class Scorer(Protocol):
    def fit(self, X: sp.csr_matrix) -> Scorer: ...

    def score(self, users: np.ndarray, X: sp.csr_matrix) -> np.ndarray: ...


def _check_matrix(X: sp.spmatrix) -> sp.csr_matrix:
    if not sp.issparse(X) or X.ndim != 2:
        raise TypeError(f"X must be a 2-D scipy sparse matrix, got {type(X).__name__}")
    return sp.csr_matrix(X, dtype=np.float32)


class RandomScorer:
    """Uniform random scores; user ``u`` always gets the same draw for a seed (chunking does not matter)."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def fit(self, X: sp.csr_matrix) -> RandomScorer:
        self.n_items_ = _check_matrix(X).shape[1]
        return self

    def score(self, users: np.ndarray, X: sp.csr_matrix) -> np.ndarray:
        out = np.empty((len(users), self.n_items_), dtype=np.float32)
        for r, u in enumerate(np.asarray(users).tolist()):
            out[r] = np.random.default_rng([self.seed, int(u)]).random(self.n_items_, dtype=np.float32)
        return out


class PopularityScorer:
    """Items scored by how many training users interacted with them."""

    def fit(self, X: sp.csr_matrix) -> PopularityScorer:
        X = _check_matrix(X)
        self.counts_ = np.asarray((X > 0).sum(axis=0), dtype=np.float32).ravel()
        return self

    def score(self, users: np.ndarray, X: sp.csr_matrix) -> np.ndarray:
        return np.broadcast_to(self.counts_, (len(users), self.counts_.size)).copy()


def cosine_item_similarity(X: sp.csr_matrix, neighbors: int, shrink: float = 0.0) -> sp.csr_matrix:
    """Item x item cosine similarity of the columns of ``X``, zero diagonal, top ``neighbors`` kept per column.

    Returns csr of shape (n_items, n_items); column ``j`` holds the neighbours of item ``j``, so
    ``X_user @ S`` scores items by similarity to the user's history (RecBole's ItemKNN with ``shrink``).
    """
    X = _check_matrix(X)
    B = (X > 0).astype(np.float32)
    co = (B.T @ B).tocsc()
    norms = np.sqrt(np.asarray(B.sum(axis=0)).ravel())
    co.setdiag(0.0)
    co.eliminate_zeros()
    coo = co.tocoo()
    vals = coo.data / (norms[coo.row] * norms[coo.col] + shrink + 1e-12)
    sim = sp.csc_matrix((vals.astype(np.float32), (coo.row, coo.col)), shape=co.shape)
    return _keep_top_per_column(sim, neighbors).tocsr()


def _keep_top_per_column(S: sp.csc_matrix, k: int) -> sp.csc_matrix:
    S = S.tocsc()
    S.sort_indices()
    rows, cols, vals = [], [], []
    for j in range(S.shape[1]):
        lo, hi = S.indptr[j], S.indptr[j + 1]
        if hi == lo:
            continue
        v, r = S.data[lo:hi], S.indices[lo:hi]
        if v.size > k:
            keep = np.lexsort((r, -v))[:k]
            v, r = v[keep], r[keep]
        rows.append(r)
        vals.append(v)
        cols.append(np.full(r.size, j, dtype=np.int64))
    if not rows:
        return sp.csc_matrix(S.shape, dtype=np.float32)
    return sp.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=S.shape)


class ItemKNNScorer:
    """Item-based kNN: score(u, j) = sum of cosine similarities between ``j`` and the items in u's history."""

    def __init__(self, neighbors: int = 100, shrink: float = 0.0) -> None:
        self.neighbors = neighbors
        self.shrink = shrink

    def fit(self, X: sp.csr_matrix) -> ItemKNNScorer:
        self.similarity_ = cosine_item_similarity(X, self.neighbors, self.shrink)
        return self

    def score(self, users: np.ndarray, X: sp.csr_matrix) -> np.ndarray:
        rows = _check_matrix(X)[np.asarray(users)]
        return np.asarray((rows @ self.similarity_).toarray(), dtype=np.float32)


class EASEScorer:
    """EASE (Steck, WWW 2019): closed-form item x item weights ``B = I - P / diag(P)``, ``P = (X'X + l2 I)^-1``.

    The inverse uses a Cholesky factorisation in float32 (a 12k-item catalogue inverts in about half a minute
    on two cores).
    """

    def __init__(self, l2: float = 500.0, threads: int = 1) -> None:
        self.l2 = l2
        self.threads = threads

    def fit(self, X: sp.csr_matrix) -> EASEScorer:
        X = _check_matrix(X)
        with threadpool_limits(self.threads, user_api="blas"):
            gram = np.asarray((X.T @ X).toarray(), dtype=np.float32)
            gram[np.diag_indices_from(gram)] += self.l2
            chol, info = sla.lapack.spotrf(gram, lower=1, overwrite_a=1)
            if info != 0:
                raise np.linalg.LinAlgError(f"EASE: Gram matrix is not positive definite (potrf info={info})")
            inv, info = sla.lapack.spotri(chol, lower=1, overwrite_c=1)
            if info != 0:
                raise np.linalg.LinAlgError(f"EASE: inverse failed (potri info={info})")
        inv = np.tril(inv) + np.tril(inv, -1).T
        weights = -inv / np.diag(inv)[None, :]
        weights[np.diag_indices_from(weights)] = 0.0
        self.weights_ = np.ascontiguousarray(weights, dtype=np.float32)
        return self

    def score(self, users: np.ndarray, X: sp.csr_matrix) -> np.ndarray:
        rows = _check_matrix(X)[np.asarray(users)]
        return np.asarray(rows @ self.weights_, dtype=np.float32)


class ALSScorer:
    """Implicit-feedback ALS (Hu, Koren, Volinsky 2008) from the ``implicit`` package; score = user . item factors.

    Confidence = 1 + ``alpha`` x interaction; ``seed`` fixes the factor initialisation. Training runs on
    ``threads`` cores with BLAS pinned to one thread (what ``implicit`` recommends).
    """

    def __init__(
        self,
        factors: int = 64,
        regularization: float = 0.05,
        alpha: float = 10.0,
        iterations: int = 15,
        threads: int = 2,
        seed: int = 0,
    ) -> None:
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.threads = threads
        self.seed = seed

    def fit(self, X: sp.csr_matrix) -> ALSScorer:
        from implicit.cpu.als import AlternatingLeastSquares

        X = _check_matrix(X)
        with threadpool_limits(1, user_api="blas"):
            model = AlternatingLeastSquares(
                factors=self.factors,
                regularization=self.regularization,
                alpha=self.alpha,
                iterations=self.iterations,
                num_threads=self.threads,
                random_state=self.seed,
            )
            model.fit(X, show_progress=False)
        self.user_factors_ = np.ascontiguousarray(model.user_factors, dtype=np.float32)
        self.item_factors_ = np.ascontiguousarray(model.item_factors, dtype=np.float32)
        return self

    def score(self, users: np.ndarray, X: sp.csr_matrix) -> np.ndarray:
        return self.user_factors_[np.asarray(users)] @ self.item_factors_.T


class CFSettings(BaseModel):
    """Hyper-parameters of the collaborative baselines (each adapter sets its own tuned defaults)."""

    model_config = ConfigDict(extra="forbid")

    knn_neighbors: int = Field(default=100, ge=1, description="Item-kNN: neighbours kept per item.")
    knn_shrink: float = Field(default=0.0, ge=0, description="Item-kNN: shrink term of the cosine denominator.")
    ease_l2: float = Field(default=300.0, gt=0, description="EASE: L2 penalty on the item-item weights.")
    als_factors: int = Field(default=64, ge=1)
    als_regularization: float = Field(default=0.05, ge=0)
    als_alpha: float = Field(default=10.0, gt=0, description="ALS confidence weight of an interaction.")
    als_iterations: int = Field(default=15, ge=1)
    threads: int = Field(default=1, ge=1, description="Threads of EASE (BLAS) and ALS; 1 is fastest on busy cores.")

    def knn(self) -> ItemKNNScorer:
        return ItemKNNScorer(self.knn_neighbors, self.knn_shrink)

    def ease(self) -> EASEScorer:
        return EASEScorer(self.ease_l2, self.threads)

    def als(self, seed: int) -> ALSScorer:
        return ALSScorer(
            self.als_factors, self.als_regularization, self.als_alpha, self.als_iterations, self.threads, seed
        )
