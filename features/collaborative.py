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


@dataclass
class CollaborativeFactors:
    creator: np.ndarray  # (n_creators, k) float32
    product: np.ndarray  # (n_products, k) float32
    creator_known: np.ndarray  # (n_creators,) bool: had history
    product_known: np.ndarray  # (n_products,) bool
    creator_cold: np.ndarray  # (n_creators, k) what content alone predicts (= ``creator`` for unknown rows)
    product_cold: np.ndarray  # (n_products, k)


def _map_content(
    content: np.ndarray, factors: np.ndarray, known: np.ndarray, alpha: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """(factors with unknown rows filled by a ridge prediction from ``content`` fit on the known rows, that
    content-only prediction for every row). With too few known rows, unknown rows stay zero."""
    out = factors.copy()
    if known.sum() < 10:
        return out, np.zeros_like(factors)
    x = np.nan_to_num(content, nan=0.0)
    predicted = Ridge(alpha=alpha).fit(x[known], factors[known]).predict(x)
    out[~known] = predicted[~known]
    return out, predicted


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
    matrix.sum_duplicates()
    creator_known = np.diff(matrix.indptr) > 0
    product_known = np.bincount(matrix.indices, minlength=n_p) > 0
    k = min(k, max(0, min(n_c, n_p) - 1), int(matrix.nnz))
    if k == 0:
        empty_c, empty_p = np.zeros((n_c, 0), np.float32), np.zeros((n_p, 0), np.float32)
        return CollaborativeFactors(empty_c, empty_p, creator_known, product_known, empty_c, empty_p)
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1))).ravel()
    matrix = sp.diags(np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)) @ matrix
    u, s, vt = randomized_svd(matrix, n_components=k, random_state=seed, n_iter=2)
    root = np.sqrt(s)
    creator = u * root
    product = vt.T * root
    creator, creator_cold = _map_content(creator_content, creator, creator_known)
    product, product_cold = _map_content(product_content, product, product_known)
    return CollaborativeFactors(
        creator.astype(np.float32),
        product.astype(np.float32),
        creator_known,
        product_known,
        creator_cold.astype(np.float32),
        product_cold.astype(np.float32),
    )
