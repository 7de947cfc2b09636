"""Amazon-Beauty candidate sources: what the candidate stage and the reranker learn from one leave-one-out view.

:class:`BeautySources` is fitted on the input histories of one view (``valid``: history before the second-last
item, to train the reranker; ``test``: history before the last item) and scores a chunk of users densely:

- ``transitions``: item -> next-item counts (plus ``reverse_weight`` x the reverse direction) from the last
  ``recent_items`` items of the user, weighted ``recency_decay**j`` for the j-th most recent;
- ``item_knn``: cosine item-kNN over the whole history; ``ease``: EASE; ``als``: ALS factors, searched through
  FAISS (:class:`~recsys.app.experiments.user_item.retrieval.FaissCandidates`) for candidates;
- ``popularity``: interaction counts.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict, Field

from recsys.app.experiments.amazon_beauty.sequences import LeaveOneOut, Sequences, recency_matrix, transition_matrix
from recsys.app.experiments.user_item.baselines import CFSettings
from recsys.app.experiments.user_item.fullrank import history_matrix
from recsys.app.experiments.user_item.retrieval import FaissCandidates

DENSE_SOURCES = ("transitions", "item_knn", "ease", "als")


class SourcesConfig(BaseModel):
    """Candidate sources and how many items each contributes."""

    model_config = ConfigDict(extra="forbid")

    per_source: int = Field(
        default=50, ge=1, description="Top items taken from each of transitions, item-kNN, EASE, ALS."
    )
    popular: int = Field(default=20, ge=0, description="Most popular unseen items added to every candidate list.")
    transition_gap: int = Field(default=1, ge=1, description="Positions ahead counted as a transition (weight 1/gap).")
    reverse_weight: float = Field(
        default=0.5, ge=0, description="Weight of reverse transitions (next -> previous item)."
    )
    recent_items: int = Field(default=3, ge=1, description="Most recent items whose transitions score candidates.")
    recency_decay: float = Field(default=0.5, gt=0, le=1, description="Weight decay per step back in the history.")
    cf: CFSettings = Field(
        default_factory=lambda: CFSettings(
            knn_neighbors=100, ease_l2=50.0, als_factors=128, als_regularization=1.0, als_alpha=20.0
        )
    )


class BeautySources:
    """Dense per-user scores of every candidate source, fitted on one leave-one-out view."""

    def __init__(self, config: SourcesConfig, faiss_depth: int = 0, seed: int = 0) -> None:
        self.config = config
        self.faiss_depth = faiss_depth
        self.seed = seed

    def fit(self, data: Sequences, view: LeaveOneOut) -> BeautySources:
        """Learn from ``view.histories`` (one per evaluated user; every user of ``data`` should be in the view)."""
        cfg = self.config
        n = data.n_items
        X = history_matrix(view.histories, n)
        self.history_ = X
        transitions = transition_matrix(view.histories, n, cfg.transition_gap)
        self.transitions_ = transitions
        self.transition_scorer_ = (transitions + cfg.reverse_weight * transitions.T).tocsr()
        self.recent_ = recency_matrix(view.histories, n, cfg.recent_items, cfg.recency_decay)
        self.cooccurrence_ = (X.T @ X).tocsr()
        self.cooccurrence_.setdiag(0.0)
        self.cooccurrence_.eliminate_zeros()
        self.popularity_ = np.asarray(X.sum(axis=0), dtype=np.float32).ravel()
        self.in_degree_ = np.asarray(transitions.sum(axis=0), dtype=np.float32).ravel()
        self.knn_ = cfg.cf.knn().fit(X)
        self.ease_ = cfg.cf.ease().fit(X)
        self.als_ = cfg.cf.als(self.seed).fit(X)
        depth = max(cfg.per_source, self.faiss_depth)
        self.faiss_ = FaissCandidates(depth).fit(self.als_.item_factors_)
        profile = X @ data.attributes
        totals = np.asarray(profile.sum(axis=1)).ravel()
        self.attribute_profile_ = sp.csr_matrix(sp.diags(1.0 / np.maximum(totals, 1.0)) @ profile)
        return self

    def dense_scores(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        """Scores of every item for view rows ``rows``: name -> float32 (len(rows), n_items)."""
        X = self.history_
        return {
            "transitions": np.asarray((self.recent_[rows] @ self.transition_scorer_).todense(), dtype=np.float32),
            "item_knn": self.knn_.score(rows, X),
            "ease": self.ease_.score(rows, X),
            "als": self.als_.score(rows, X),
        }

    def faiss_candidates(self, rows: np.ndarray, mask_rows: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
        """ALS candidates from the FAISS index, skipping masked items: (items, scores), each of shape
        (len(rows), max(per_source, faiss_depth))."""
        return self.faiss_.retrieve(self.als_.user_factors_[rows], mask_rows)
