"""Global allocation: who should work with whom when creators and products have limited capacity.

The marketplace is a bipartite graph of candidate pairs (creator, product) with a value each (predicted GMV). A
creator can take only so many new collaborations in a period, a product has only so many samples (and so much
budget). The best allocation is the linear programme

    maximise   Σ_e value_e · x_e
    subject to Σ_{e ∋ c} x_e ≤ capacity_c   (every creator)
               Σ_{e ∋ p} x_e ≤ capacity_p   (every product with a finite capacity)
               0 ≤ x_e ≤ 1

a bipartite b-matching: its constraint matrix is totally unimodular, so the LP optimum is integral and solves the
assignment problem exactly. HiGHS (through :func:`scipy.optimize.linprog`) solves it and returns the dual values
of the capacity constraints: the *price* of one more slot of each creator and of one more sample of each product.
A price is zero where capacity is not scarce and grows with congestion; the online reranker subtracts the prices
from a pair's value (its reduced cost), so a list balances fit against who is already oversubscribed.

**The market's activity.** The LP above lets every product recruit at once. In a period only a share ``a`` of
products recruits (``matching.allocation_activity``), so a creator's slot is contested by ``a`` times the demand the
graph holds: the expected use of its capacity is ``Σ_{e ∋ c} a · x_e``. The creators' constraints become

    Σ_{e ∋ c} x_e ≤ capacity_c / a

(the same LP with the demand on creators scaled down by ``a``), while a product's samples still bound what that
product takes when it does recruit, unscaled. The creator price is the dual of this constraint: the value of the
last pair a creator's slots still reach once only a share ``a`` of the graph's products compete for them — the
reduced cost ``value − price_c − price_p`` keeps its meaning per pair. ``a = 1`` is the LP above exactly; a lower
``a`` gives every creator more room in the LP, so its price is no higher (the products' prices may rise: more of
their creators can take them). ``capacity / a`` need not be an integer, so the optimum may then be fractional; the
prices are still the LP's duals.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog


class AllocationError(RuntimeError):
    """The solver did not reach an optimum (it reports why)."""


@dataclass(frozen=True)
class Allocation:
    """An optimal allocation over a candidate graph and the capacity prices that support it.

    take : bool per edge, the edges of the optimal allocation.
    creator_price, product_price : per creator row / product row, the dual value of its capacity (value units,
        ≥ 0; 0 for rows with spare capacity or not in the graph).
    value : the allocation's total value.
    """

    take: np.ndarray
    creator_price: np.ndarray
    product_price: np.ndarray
    value: float


def allocate(
    c: np.ndarray,
    p: np.ndarray,
    value: np.ndarray,
    creator_capacity: np.ndarray,
    product_capacity: np.ndarray,
    activity: float = 1.0,
) -> Allocation:
    """Solve the capacity-constrained allocation over edges (``c[e]``, ``p[e]``) with ``value[e]``.

    ``creator_capacity`` (per creator row) and ``product_capacity`` (per product row; ``inf`` = unlimited) are
    non-negative. ``activity`` in (0, 1]: the share of products expected to recruit in the period; creator
    capacities are divided by it (see the module docstring). Edges with non-positive value are never taken.
    Duplicate edges are the caller's to avoid.
    """
    if not 0.0 < activity <= 1.0:
        raise ValueError(f"activity must be in (0, 1], not {activity}")
    c = np.asarray(c, dtype=np.int64)
    p = np.asarray(p, dtype=np.int64)
    value = np.asarray(value, dtype=np.float64)
    creator_capacity = np.asarray(creator_capacity, dtype=np.float64) / activity
    product_capacity = np.asarray(product_capacity, dtype=np.float64)
    n_c, n_p = len(creator_capacity), len(product_capacity)
    if not (len(c) == len(p) == len(value)):
        raise ValueError(f"edges must align: {len(c)} creators, {len(p)} products, {len(value)} values")
    if np.any(creator_capacity < 0) or np.any(product_capacity < 0):
        raise ValueError("capacities must be non-negative")
    creator_price, product_price = np.zeros(n_c), np.zeros(n_p)
    useful = np.flatnonzero(np.isfinite(value) & (value > 0))
    if len(useful) == 0:
        return Allocation(np.zeros(len(c), bool), creator_price, product_price, 0.0)
    ce, pe, ve = c[useful], p[useful], value[useful]
    scale = float(ve.max())  # values in [0, 1]: the solver's tolerances are relative to 1
    creators, c_local = np.unique(ce, return_inverse=True)
    limited = np.isfinite(product_capacity)
    products, p_local = np.unique(pe[limited[pe]], return_inverse=True)
    n_e = len(useful)
    rows = [sp.csr_matrix((np.ones(n_e), (c_local, np.arange(n_e))), shape=(len(creators), n_e))]
    caps = [creator_capacity[creators]]
    if len(products):
        on = np.flatnonzero(limited[pe])
        rows.append(sp.csr_matrix((np.ones(len(on)), (p_local, on)), shape=(len(products), n_e)))
        caps.append(product_capacity[products])
    result = linprog(
        -ve / scale,
        A_ub=sp.vstack(rows, format="csr"),
        b_ub=np.concatenate(caps),
        bounds=(0.0, 1.0),
        method="highs",
    )
    if result.status != 0:
        raise AllocationError(f"allocation LP: {result.message}")
    duals = -np.asarray(result.ineqlin.marginals) * scale  # ≥ 0: value of one more unit of capacity
    creator_price[creators] = np.maximum(duals[: len(creators)], 0.0)
    if len(products):
        product_price[products] = np.maximum(duals[len(creators) :], 0.0)
    take = np.zeros(len(c), bool)
    take[useful] = result.x > 0.5
    return Allocation(take, creator_price, product_price, float(ve[result.x > 0.5].sum()))
