"""Collaborative signal: a factorization of the creator × product promotion matrix, with content-mapped cold start.

The matrix holds log1p(GMV) of each earlier collaboration (+1 so that a promotion that sold nothing still says
"this creator works with this product"), rows L2-normalised so large creators do not dominate. A truncated SVD
gives creator and product factors. Entities with no history get factors predicted from their content by ridge
regression fit on the entities that have history, so every creator and product has a vector.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import Ridge
from sklearn.utils.extmath import randomized_svd

from features.history import History

PREDICT_ROWS = 262_144  # content rows the cold-start ridge predicts at a time (``_map_content``)
FIT_ROWS = 500_000  # known rows the cold-start ridge is fit on at most (``fit_content_map``)


@dataclass
class CollaborativeFactors:
    creator: np.ndarray  # (n_creators, k) float32
    product: np.ndarray  # (n_products, k) float32
    creator_known: np.ndarray  # (n_creators,) bool: had history
    product_known: np.ndarray  # (n_products,) bool
    creator_cold: np.ndarray  # (n_creators, k) what content alone predicts (= ``creator`` for unknown rows)
    product_cold: np.ndarray  # (n_products, k)


def fit_content_map(content: np.ndarray, factors: np.ndarray, known: np.ndarray, alpha: float = 1.0) -> Ridge | None:
    """The cold start's ridge from ``content`` to ``factors``, fit in float64 on the known rows — at most
    :data:`FIT_ROWS` of them, evenly spaced, since a few dozen content columns need no more and at 4M products the
    float64 copies of every known row would take ~2 GB; None with fewer than 10 known rows or no factors. Training
    (:func:`factorize_entries`) and the service's overlay (``features.overlay.ColdStart``) fit it here alike."""
    rows = np.flatnonzero(known)
    if len(rows) < 10 or factors.shape[1] == 0:
        return None
    if len(rows) > FIT_ROWS:
        rows = rows[np.linspace(0, len(rows) - 1, FIT_ROWS).astype(np.int64)]
    x = np.nan_to_num(content[rows].astype(np.float64), copy=False, nan=0.0)
    return Ridge(alpha=alpha, copy_X=False).fit(x, factors[rows].astype(np.float64))  # x is ours to center


def _map_content(content: np.ndarray, factors: np.ndarray, known: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(``factors`` with unknown rows filled, in place, by :func:`fit_content_map`'s prediction from ``content``;
    that content-only prediction for every row), in ``factors``' dtype. With too few known rows, unknown rows stay
    zero. Predicted :data:`PREDICT_ROWS` rows at a time: a catalogue of millions of products never holds a float64
    copy of its content or of its factors."""
    ridge = fit_content_map(content, factors, known)
    if ridge is None:
        return factors, np.zeros_like(factors)
    predicted = np.empty_like(factors)
    for start in range(0, len(content), PREDICT_ROWS):
        block = np.nan_to_num(content[start : start + PREDICT_ROWS].astype(np.float64), copy=False, nan=0.0)
        predicted[start : start + PREDICT_ROWS] = ridge.predict(block).reshape(len(block), -1)
    factors[~known] = predicted[~known]
    return factors, predicted


def factorize(
    history: History,
    creator_content: np.ndarray,
    product_content: np.ndarray,
    k: int,
    seed: int,
) -> CollaborativeFactors:
    """Factors of rank ``k`` (``k`` = 0 gives empty factors) from the promotions in ``history``."""
    entries = (history.c, history.p, interaction_values(history))
    return factorize_entries(
        entries, (history.n_creators, history.n_products), creator_content, product_content, k, seed
    )


def interaction_values(history: History) -> np.ndarray:
    """Each promotion's entry in the creator x product matrix: 1 + log1p(GMV)."""
    return 1.0 + np.log1p(history.outcomes["gmv"])


def factorize_entries(
    entries: tuple[np.ndarray, np.ndarray, np.ndarray],
    shape: tuple[int, int],
    creator_content: np.ndarray,
    product_content: np.ndarray,
    k: int,
    seed: int,
) -> CollaborativeFactors:
    """:func:`factorize` from the matrix's (creator row, product row, value) entries; repeated cells add up, so one
    entry per promotion or one per pair holding the sum of its promotions' values give the same matrix."""
    n_c, n_p = shape
    rows, cols, values = entries
    matrix = sp.csr_matrix((values, (rows, cols)), shape=(n_c, n_p))
    matrix.sum_duplicates()  # in float64: one entry per promotion or per pair gives the same cells
    creator_known = np.diff(matrix.indptr) > 0
    product_known = np.bincount(matrix.indices, minlength=n_p) > 0
    k = min(k, max(0, min(n_c, n_p) - 1), int(matrix.nnz))
    if k == 0:
        empty_c, empty_p = np.zeros((n_c, 0), np.float32), np.zeros((n_p, 0), np.float32)
        return CollaborativeFactors(empty_c, empty_p, creator_known, product_known, empty_c, empty_p)
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1))).ravel()
    matrix = sp.diags(np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)) @ matrix
    # the SVD in float32: its (catalogue x ~42) blocks take half the memory (at 4M products 0.7 rather than 1.3 GB
    # each), and the factors are stored as float32 anyway
    matrix = matrix.astype(np.float32)
    u, s, vt = randomized_svd(matrix, n_components=k, random_state=seed, n_iter=2)
    del matrix
    root = np.sqrt(s).astype(np.float32)
    creator, creator_cold = _map_content(creator_content, (u * root).astype(np.float32, copy=False), creator_known)
    product = (vt.T * root).astype(np.float32, copy=False)
    del u, vt
    product, product_cold = _map_content(product_content, product, product_known)
    return CollaborativeFactors(creator, product, creator_known, product_known, creator_cold, product_cold)
