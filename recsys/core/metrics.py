"""Ranking metrics: pure functions over one query's ranked list, plus catalogue-level exposure metrics.

Conventions (shared by every experiment so figures are comparable):

- ``ranked`` is the list of item ids in the order a system ranked them (best first), already cut to what it
  returned.
- ``relevant`` maps item id -> gain (> 0). Items absent from it have gain 0. For binary relevance pass
  ``{id: 1.0}`` (or any set/sequence of ids).
- NDCG uses linear gains and log2 discounts: DCG@k = sum_{i<k} gain_i / log2(i + 2); IDCG from the best
  possible order of ``relevant``. A query with no relevant item has no defined NDCG/recall; callers skip it.
- Recall@k = relevant items in the top k / min(k, number relevant) is *not* used; we use the common
  ``hits / number relevant`` (RecBole, TMM'23). HR@k = 1 if any relevant item is in the top k.
- ``ranked`` must not repeat an item (a repeated relevant item would be counted twice); ``k`` must be >= 1.

The exact definitions, with the worked examples they are tested against, are in ``docs/experiments.md``.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import Any

import numpy as np

Item = Hashable
# a mapping id -> gain, or a set/sequence of relevant ids (binary gains); Any accepts dict[int, float] etc.
Relevant = Mapping[Any, float] | Sequence[Any] | AbstractSet[Any]


def _check_k(k: int) -> None:
    if k < 1:
        raise ValueError(f"k must be a positive cut-off, got {k}")


def _as_gains(relevant: Relevant) -> dict[Item, float]:
    if isinstance(relevant, Mapping):
        return {k: float(v) for k, v in relevant.items() if v > 0}
    return {k: 1.0 for k in relevant}


def dcg_at_k(gains: Sequence[float], k: int) -> float:
    """Discounted cumulative gain of ``gains`` (in ranked order) at cut-off ``k``."""
    g = np.asarray(gains[:k], dtype=np.float64)
    if g.size == 0:
        return 0.0
    return float(np.sum(g / np.log2(np.arange(2, g.size + 2))))


def ndcg_at_k(ranked: Sequence[Item], relevant: Relevant, k: int) -> float:
    """Normalised DCG at ``k`` with linear gains. Returns NaN when nothing is relevant."""
    _check_k(k)
    gains = _as_gains(relevant)
    if not gains:
        return float("nan")
    dcg = dcg_at_k([gains.get(i, 0.0) for i in ranked[:k]], k)
    idcg = dcg_at_k(sorted(gains.values(), reverse=True), k)
    return dcg / idcg


def recall_at_k(ranked: Sequence[Item], relevant: Relevant, k: int) -> float:
    """Share of the relevant items found in the top ``k``. NaN when nothing is relevant."""
    _check_k(k)
    gains = _as_gains(relevant)
    if not gains:
        return float("nan")
    return sum(1 for i in ranked[:k] if i in gains) / len(gains)


def hit_rate_at_k(ranked: Sequence[Item], relevant: Relevant, k: int) -> float:
    """1.0 if any relevant item is in the top ``k``, else 0.0. NaN when nothing is relevant."""
    _check_k(k)
    gains = _as_gains(relevant)
    if not gains:
        return float("nan")
    return 1.0 if any(i in gains for i in ranked[:k]) else 0.0


def reciprocal_rank(ranked: Sequence[Item], relevant: Relevant) -> float:
    """1 / rank of the first relevant item (0.0 if none is ranked). NaN when nothing is relevant."""
    gains = _as_gains(relevant)
    if not gains:
        return float("nan")
    for pos, item in enumerate(ranked, start=1):
        if item in gains:
            return 1.0 / pos
    return 0.0


def first_relevant_rank(ranked: Sequence[Item], relevant: Relevant) -> float:
    """Rank (1-based) of the best-ranked relevant item; ``inf`` if none is ranked (for MedR)."""
    gains = _as_gains(relevant)
    for pos, item in enumerate(ranked, start=1):
        if item in gains:
            return float(pos)
    return float("inf")


def average_precision(ranked: Sequence[Item], relevant: Relevant, k: int | None = None) -> float:
    """Average precision (at ``k`` if given): mean of precision@i over the ranks i of relevant items found,
    divided by min(k, number relevant). NaN when nothing is relevant."""
    if k is not None:
        _check_k(k)
    gains = _as_gains(relevant)
    if not gains:
        return float("nan")
    cut = ranked if k is None else ranked[:k]
    hits, total = 0, 0.0
    for pos, item in enumerate(cut, start=1):
        if item in gains:
            hits += 1
            total += hits / pos
    denom = len(gains) if k is None else min(k, len(gains))
    return total / denom


def auc(scores: Sequence[float] | np.ndarray, labels: Sequence[int] | np.ndarray) -> float:
    """Area under the ROC curve: P(score of a random positive > score of a random negative), ties count half.

    NaN when there are no positives or no negatives.
    """
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels).astype(bool)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s), dtype=np.float64)
    sorted_s = s[order]
    # average ranks for ties (1-based)
    _, first_idx, counts = np.unique(sorted_s, return_index=True, return_counts=True)
    avg = first_idx + (counts + 1) / 2.0
    ranks[order] = np.repeat(avg, counts)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def catalogue_coverage(recommended_lists: Sequence[Sequence[Item]], catalogue_size: int) -> float:
    """Share of the catalogue that appears in at least one recommended list."""
    if catalogue_size <= 0:
        raise ValueError("catalogue_size must be positive")
    seen = {i for lst in recommended_lists for i in lst}
    return len(seen) / catalogue_size


def exposure_counts(recommended_lists: Sequence[Sequence[Item]], catalogue: Sequence[Item]) -> np.ndarray:
    """How many lists each catalogue item appears in, aligned with ``catalogue`` order."""
    index = {item: pos for pos, item in enumerate(catalogue)}
    counts = np.zeros(len(catalogue), dtype=np.int64)
    for lst in recommended_lists:
        for item in lst:
            pos = index.get(item)
            if pos is not None:
                counts[pos] += 1
    return counts


def gini(values: Sequence[float] | np.ndarray) -> float:
    """Gini coefficient of non-negative ``values`` (0 = perfectly even exposure, -> 1 = all on one item)."""
    x = np.sort(np.asarray(values, dtype=np.float64))
    if x.size == 0:
        return float("nan")
    if np.any(x < 0):
        raise ValueError("gini needs non-negative values")
    total = x.sum()
    if total == 0:
        return 0.0
    n = x.size
    cum = np.cumsum(x)
    return float((n + 1 - 2 * np.sum(cum) / total) / n)


def lorenz_curve(values: Sequence[float] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lorenz curve of non-negative ``values`` (e.g. exposure per item).

    Returns ``(x, y)``, both of shape (n + 1,), starting at (0, 0): ``x`` is the cumulative share of items
    (sorted from least to most exposed) and ``y`` the cumulative share of the total they receive. Twice the
    area between the diagonal and this curve equals :func:`gini` (trapezoid rule).
    """
    x = np.sort(np.asarray(values, dtype=np.float64))
    if x.size == 0:
        raise ValueError("lorenz_curve needs at least one value")
    if np.any(x < 0):
        raise ValueError("lorenz_curve needs non-negative values")
    total = x.sum()
    share = np.linspace(0.0, 1.0, x.size + 1)
    if total == 0:
        return share, share.copy()
    return share, np.concatenate([[0.0], np.cumsum(x) / total])


def long_tail_share(recommended_lists: Sequence[Sequence[Item]], head_items: set[Item]) -> float:
    """Share of recommended slots filled by items outside ``head_items`` (e.g. the top 20% by popularity)."""
    total = sum(len(lst) for lst in recommended_lists)
    if total == 0:
        return float("nan")
    tail = sum(1 for lst in recommended_lists for i in lst if i not in head_items)
    return tail / total


def head_items_by_popularity(popularity: Mapping[Item, float], head_share: float = 0.2) -> set[Item]:
    """The most popular ``head_share`` of items (by interaction count), the usual 'head' of a long tail."""
    if not 0 < head_share <= 1:
        raise ValueError("head_share must be in (0, 1]")
    ordered = sorted(popularity, key=lambda i: (-popularity[i], str(i)))
    n_head = max(1, round(len(ordered) * head_share))
    return set(ordered[:n_head])
