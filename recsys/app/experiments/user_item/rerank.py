"""Second stage of the user–item pipelines: LightGBM LambdaRank over grouped (user, candidate) rows.

A :class:`CandidateGroups` holds one contiguous block of candidate rows per user, their features and the
candidate stage's own score (``prior``). The reranker trains on groups that contain at least one positive
(a group without one carries no LambdaRank gradient), stops early on a separate set of groups, and orders
every group by its score; ties fall back to the candidate stage's order, then the lower item index.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from models.gbm.ranker import LambdaRanker


class RerankConfig(BaseModel):
    """LightGBM LambdaRank settings of the rerank stage."""

    model_config = ConfigDict(extra="forbid")

    num_leaves: int = Field(default=15, ge=2)
    learning_rate: float = Field(default=0.05, gt=0)
    n_estimators: int = Field(default=1000, ge=1)
    early_stopping_rounds: int = Field(default=100, ge=1)
    min_data_in_leaf: int = Field(default=200, ge=1)
    feature_fraction: float = Field(default=0.9, gt=0, le=1)
    truncation_level: int = Field(
        default=30, ge=1, description="LambdaRank pairs considered per group (top positions)."
    )
    threads: int = Field(default=1, ge=0, description="LightGBM threads (0 = all cores; 1 is fastest on a busy box).")
    objective: Literal["lambdarank", "rank_xendcg"] = Field(
        default="lambdarank", description="LightGBM ranking objective (rank_xendcg: Bruch 2020's cross-entropy NDCG)."
    )


@dataclass
class CandidateGroups:
    """Candidate rows grouped by user.

    users : (n_groups,) user index of each group; offsets : (n_groups + 1,) row boundaries of the groups;
    items : (n_rows,) candidate item per row; features : (n_rows, n_features) float32;
    prior : (n_rows,) candidate-stage score, higher first.
    """

    users: np.ndarray
    offsets: np.ndarray
    items: np.ndarray
    features: np.ndarray
    feature_names: list[str]
    prior: np.ndarray

    def __post_init__(self) -> None:
        n_rows = self.items.size
        if self.offsets.size != self.users.size + 1 or self.offsets[-1] != n_rows:
            raise ValueError(f"offsets ({self.offsets.size}) do not delimit {n_rows} rows in {self.users.size} groups")
        if self.features.shape != (n_rows, len(self.feature_names)) or self.prior.shape != (n_rows,):
            raise ValueError(
                f"features {self.features.shape} / prior {self.prior.shape} do not match {n_rows} rows and "
                f"{len(self.feature_names)} feature names"
            )

    @property
    def sizes(self) -> np.ndarray:
        return np.diff(self.offsets)

    def group_of_row(self) -> np.ndarray:
        return np.repeat(np.arange(self.users.size), self.sizes)

    def labels(self, relevant: Sequence[np.ndarray]) -> np.ndarray:
        """1 where the row's item is in ``relevant[g]`` of its group ``g``, else 0; int32 of shape (n_rows,)."""
        if len(relevant) != self.users.size:
            raise ValueError(f"{len(relevant)} relevant sets for {self.users.size} groups")
        out = np.zeros(self.items.size, dtype=np.int32)
        for g in range(self.users.size):
            lo, hi = self.offsets[g], self.offsets[g + 1]
            out[lo:hi] = np.isin(self.items[lo:hi], np.asarray(relevant[g]))
        return out

    def rows_of(self, groups: np.ndarray) -> np.ndarray:
        """Row indices of ``groups`` (group indices), block after block in the given order."""
        groups = np.asarray(groups, dtype=np.int64)
        if groups.size == 0:
            return np.empty(0, np.int64)
        return np.concatenate([np.arange(self.offsets[g], self.offsets[g + 1]) for g in groups])

    def take(self, groups: np.ndarray) -> CandidateGroups:
        """A new object with only ``groups`` (indices, in the given order)."""
        groups = np.asarray(groups, dtype=np.int64)
        sizes = self.sizes[groups]
        rows = self.rows_of(groups)
        return CandidateGroups(
            users=self.users[groups],
            offsets=np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
            items=self.items[rows],
            features=self.features[rows],
            feature_names=self.feature_names,
            prior=self.prior[rows],
        )


def concat_groups(parts: Sequence[CandidateGroups]) -> CandidateGroups:
    """Stack several :class:`CandidateGroups` with the same features (e.g. several training folds)."""
    names = parts[0].feature_names
    if any(p.feature_names != names for p in parts):
        raise ValueError("cannot concatenate candidate groups with different feature names")
    sizes = np.concatenate([p.sizes for p in parts])
    return CandidateGroups(
        users=np.concatenate([p.users for p in parts]),
        offsets=np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
        items=np.concatenate([p.items for p in parts]),
        features=np.concatenate([p.features for p in parts]),
        feature_names=names,
        prior=np.concatenate([p.prior for p in parts]),
    )


def groups_with_positives(labels: np.ndarray, groups: CandidateGroups) -> np.ndarray:
    """Indices of the groups holding at least one positive label."""
    per_group = np.add.reduceat(labels, groups.offsets[:-1]) if labels.size else np.zeros(0)
    return np.flatnonzero((per_group > 0) & (groups.sizes > 0))


def fit_reranker(
    train: CandidateGroups,
    y_train: np.ndarray,
    valid: CandidateGroups,
    y_valid: np.ndarray,
    config: RerankConfig,
    seed: int,
) -> LambdaRanker:
    """Train LambdaRank on the groups of ``train`` with a positive; stop early on those of ``valid``."""
    keep_t, keep_v = groups_with_positives(y_train, train), groups_with_positives(y_valid, valid)
    if keep_t.size == 0 or keep_v.size == 0:
        raise ValueError(
            f"reranker needs groups with a positive candidate: train has {keep_t.size}, valid {keep_v.size}"
        )
    tr, va = train.take(keep_t), valid.take(keep_v)
    ranker = LambdaRanker(
        num_leaves=config.num_leaves,
        learning_rate=config.learning_rate,
        n_estimators=config.n_estimators,
        early_stopping_rounds=config.early_stopping_rounds,
        min_data_in_leaf=config.min_data_in_leaf,
        feature_fraction=config.feature_fraction,
        lambdarank_truncation_level=config.truncation_level,
        num_threads=config.threads,
        objective=config.objective,
        seed=seed,
    )
    y_tr, y_va = y_train[train.rows_of(keep_t)], y_valid[valid.rows_of(keep_v)]
    return ranker.fit(tr.features, y_tr, tr.sizes, tr.feature_names, va.features, y_va, va.sizes)


def order_groups(groups: CandidateGroups, scores: np.ndarray, k: int) -> np.ndarray:
    """Top-``k`` items per group by ``scores`` (ties: higher prior, then lower item); -1 padded, (n_groups, k)."""
    out = np.full((groups.users.size, k), -1, dtype=np.int64)
    for g in range(groups.users.size):
        lo, hi = groups.offsets[g], groups.offsets[g + 1]
        order = np.lexsort((groups.items[lo:hi], -groups.prior[lo:hi], -scores[lo:hi]))[:k]
        out[g, : order.size] = groups.items[lo:hi][order]
    return out


def position_in_group(groups: CandidateGroups, scores: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """1-based position of ``targets[g]`` in group ``g`` under :func:`order_groups`' order; inf if absent."""
    out = np.full(groups.users.size, np.inf)
    for g in range(groups.users.size):
        lo, hi = groups.offsets[g], groups.offsets[g + 1]
        order = np.lexsort((groups.items[lo:hi], -groups.prior[lo:hi], -scores[lo:hi]))
        hit = np.flatnonzero(groups.items[lo:hi][order] == targets[g])
        if hit.size:
            out[g] = hit[0] + 1
    return out
