"""Reranker features of the amazon-beauty candidate stage beyond the base ones: what they are and how they are made.

:data:`BASE_FEATURES` are the 24 columns every configuration has (built in :mod:`.candidates`). :class:`FeatureConfig`
switches on further groups, each measured on its own (docs/user_item_results.md): two-step transitions and random
walks over the transition graph, kNN-smoothed transitions, second-order transitions, embedding similarity to the
recent items, session-kNN, attribute-level transitions, query-relative scores. :class:`OptionalFeatures` fits the
item-item statistics those groups need on a leave-one-out view's input histories, then computes their columns for
a chunk's candidate rows.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict, Field

from recsys.app.experiments.amazon_beauty.sequences import (
    LeaveOneOut,
    Sequences,
    recency_matrix,
    row_overlap,
    sample_pairs,
    triple_counts,
)
from recsys.app.experiments.amazon_beauty.sources import DENSE_SOURCES, BeautySources

BASE_FEATURES = [
    *DENSE_SOURCES,
    *(f"{s}_rank" for s in DENSE_SOURCES),
    "fusion_score",
    "sources_agreeing",
    "transitions_from_last_1",
    "transitions_from_last_2",
    "transitions_from_last_3",
    "transitions_to_last_1",
    "cooccurrence_with_last_1",
    "gap_to_nearest_cooccurring",
    "attributes_shared_with_last_1",
    "attributes_shared_with_last_3",
    "attribute_profile_match",
    "item_popularity",
    "item_in_degree",
    "item_attribute_count",
    "history_length",
    "last_item_popularity",
]


SKNN_RECENT = 5  # most recent items of the user's sequence that query the session-kNN
SKNN_DECAY = 0.7  # their weight decay per step back (V-SKNN's position weighting)


class FeatureConfig(BaseModel):
    """Optional feature groups of the reranker on top of :data:`BASE_FEATURES` (all off = the 24 base features).

    Each group exists so its worth can be measured (docs/user_item_results.md, 2026-12-02). The defaults (two-hop,
    walks of 2-4 steps, kNN-smoothed and second-order transitions, embedding similarity: 41 features) are the
    measured best; V-SKNN, attribute transitions, group-relative scores and transitions from items -4/-5 gave
    nothing at seed 7 and stay off.
    """

    model_config = ConfigDict(extra="forbid")

    recent_positions: int = Field(
        default=3, ge=3, le=10, description="Transition counts from each of the last N items (one feature each)."
    )
    two_hop: bool = Field(
        default=True,
        description="Two-step transitions last item -> x -> candidate (row-normalised counts, P @ P), from the last "
        "item and decayed over the last three.",
    )
    walk_steps: int = Field(
        default=4,
        ge=0,
        le=4,
        description="Random-walk features over both transition directions (row-normalised forward + reverse "
        "weight x backward counts), started from the last items decayed by recency: one feature per walk length "
        "2..N (0 = off).",
    )
    similar_then_next: bool = Field(
        default=True,
        description="Transitions smoothed by item-kNN: the last items decayed -> their kNN neighbours -> those "
        "items' next items, and the reverse order (next items -> their neighbours).",
    )
    second_order: bool = Field(
        default=True,
        description="Second-order transition counts: how often (item -2, item -1) was directly followed by the "
        "candidate, and (item -1, candidate) with one item between.",
    )
    embedding_similarity: bool = Field(
        default=True,
        description="Cosine of ALS item factors and EASE weights between the candidate and the last item / last three.",
    )
    session_knn: int = Field(
        default=0,
        ge=0,
        description="V-SKNN (Ludewig & Jannach 2018) with this many neighbour users (0 = off): the user's last "
        "items decayed by recency, cosine against every other user's history, score = summed similarity of the "
        "neighbours holding the candidate; also the candidate's score rank in the group.",
    )
    attribute_transitions: bool = Field(
        default=False,
        description="Attribute-level transitions: how often an item with the last item's attributes was followed "
        "by one with the candidate's (brand / category continuity, row-normalised).",
    )
    group_relative: bool = Field(
        default=False,
        description="Transition / EASE / ALS scores divided by the group's best score (query-relative strength).",
    )

    def names(self) -> list[str]:
        """Feature columns of this configuration, in matrix order."""
        names = list(BASE_FEATURES)
        names += [f"transitions_from_last_{j + 1}" for j in range(3, self.recent_positions)]
        if self.two_hop:
            names += ["two_hop_from_last_1", "two_hop_from_last_3"]
        names += [f"walk_{k}" for k in range(2, self.walk_steps + 1)]
        if self.similar_then_next:
            names += ["similar_then_next", "next_then_similar"]
        if self.second_order:
            names += ["second_order_from_last_2", "skip_transition_from_last_1"]
        if self.embedding_similarity:
            names += ["als_cosine_last_1", "als_cosine_last_3", "ease_weight_last_1", "ease_weight_last_3"]
        if self.session_knn:
            names += ["session_knn", "session_knn_rank"]
        if self.attribute_transitions:
            names += ["attribute_transitions_from_last_1"]
        if self.group_relative:
            names += [f"{s}_relative" for s in ("transitions", "ease", "als")]
        return names


def row_normalised(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """Rows scaled to sum 1 (empty rows stay empty)."""
    totals = np.asarray(matrix.sum(axis=1), dtype=np.float64).ravel()
    return sp.csr_matrix(sp.diags(1.0 / np.where(totals > 0, totals, 1.0)) @ matrix, dtype=np.float32)


def pair_dot(vectors: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise dot products ``vectors[a[i]] . vectors[b[i]]`` (0 where ``a[i]`` is -1); float32 of shape (n,)."""
    out = np.zeros(a.size, dtype=np.float32)
    ok = a >= 0
    out[ok] = np.einsum("ij,ij->i", vectors[a[ok]], vectors[b[ok]])
    return out


def ranks_in_groups(values: np.ndarray, group: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """0-based rank of each value within its group (best first); ``group`` is each row's group, ``offsets`` the
    groups' first rows."""
    order = np.lexsort((-values, group))
    ranks = np.empty(values.size, dtype=np.float32)
    ranks[order] = np.arange(values.size) - offsets[group[order]]
    return ranks


class OptionalFeatures:
    """The optional groups of one :class:`FeatureConfig` over one view's fitted ``sources``: :meth:`fit` once per
    view, then :meth:`compute` per chunk of candidate rows."""

    def __init__(self, config: FeatureConfig, sources: BeautySources) -> None:
        self.config = config
        self.sources = sources

    def fit(self, data: Sequences, view: LeaveOneOut) -> OptionalFeatures:
        """Item-item statistics of the switched-on groups, from the view's input histories only; returns self."""
        cfg, src, n = self.config, self.sources, data.n_items
        if cfg.two_hop:
            step = row_normalised(src.transitions_)
            self._two_hop = (step @ step).tocsr()
        if cfg.walk_steps:
            self._walk = row_normalised(src.transition_scorer_)
        if cfg.similar_then_next:
            step = row_normalised(src.transitions_)
            similar = row_normalised(src.knn_.similarity_.T.tocsr())  # row i: the neighbours of item i
            self._similar_next = (similar @ step).tocsr()
            self._next_similar = (step @ similar).tocsr()
        if cfg.second_order:
            self._triples = triple_counts(view.histories, n)
            heads = [s[:-2] for s in view.histories if s.size > 2]
            tails = [s[2:] for s in view.histories if s.size > 2]
            ones = np.ones(sum(h.size for h in heads), dtype=np.float32)
            cat = (np.concatenate(heads), np.concatenate(tails)) if heads else (np.empty(0, int), np.empty(0, int))
            self._skip = sp.csr_matrix((ones, cat), shape=(n, n), dtype=np.float32)
        if cfg.embedding_similarity:
            factors = src.als_.item_factors_
            self._unit_factors = factors / np.maximum(np.linalg.norm(factors, axis=1, keepdims=True), 1e-12)
        if cfg.session_knn:
            recent = recency_matrix(view.histories, n, SKNN_RECENT, SKNN_DECAY)
            norms = np.sqrt(np.asarray(recent.multiply(recent).sum(axis=1)).ravel())
            self._sknn_query = sp.csr_matrix(sp.diags(1.0 / np.maximum(norms, 1e-12)) @ recent)
            X = src.history_
            lengths = np.asarray(X.sum(axis=1)).ravel()
            self._sknn_neighbours = sp.csr_matrix(sp.diags(1.0 / np.sqrt(np.maximum(lengths, 1.0))) @ X)
        if cfg.attribute_transitions:
            attrs = data.attributes
            between = row_normalised(sp.csr_matrix(attrs.T @ src.transitions_ @ attrs))
            self._attr_next = sp.csr_matrix(attrs @ between)
        return self

    def compute(
        self,
        data: Sequences,
        view_rows: np.ndarray,
        items: np.ndarray,
        group: np.ndarray,
        offsets: np.ndarray,
        dense: dict,
        last: np.ndarray,
    ) -> dict[str, np.ndarray]:
        """The switched-on groups' columns for candidate rows (see :class:`FeatureConfig`'s field descriptions):
        ``last`` holds each row's most recent history items (-1 padded), ``dense`` the chunk's source scores."""
        cfg, src = self.config, self.sources
        feats: dict[str, np.ndarray] = {}
        for j in range(3, cfg.recent_positions):
            feats[f"transitions_from_last_{j + 1}"] = sample_pairs(src.transitions_, last[:, j], items)
        decay = src.config.recency_decay ** np.arange(3, dtype=np.float32)
        if cfg.two_hop:
            hops = [sample_pairs(self._two_hop, last[:, j], items) for j in range(3)]
            feats["two_hop_from_last_1"] = hops[0]
            feats["two_hop_from_last_3"] = sum(w * h for w, h in zip(decay, hops, strict=True))
        if cfg.walk_steps > 1:
            users = view_rows[offsets[:-1]]
            reach = src.recent_[users]
            for k in range(1, cfg.walk_steps + 1):
                reach = (reach @ self._walk).tocsr()
                if k > 1:
                    feats[f"walk_{k}"] = np.asarray(reach[group, items]).ravel().astype(np.float32)
        if cfg.similar_then_next:
            for name, matrix in (("similar_then_next", self._similar_next), ("next_then_similar", self._next_similar)):
                parts = [sample_pairs(matrix, last[:, j], items) for j in range(3)]
                feats[name] = sum(w * x for w, x in zip(decay, parts, strict=True)).astype(np.float32)
        if cfg.second_order:
            feats["second_order_from_last_2"] = self._triples.lookup(last[:, 1], last[:, 0], items)
            feats["skip_transition_from_last_1"] = sample_pairs(self._skip, last[:, 0], items)
        if cfg.embedding_similarity:
            cos = [pair_dot(self._unit_factors, last[:, j], items) for j in range(3)]
            ease = src.ease_.weights_
            weights = [np.where(last[:, j] >= 0, ease[np.maximum(last[:, j], 0), items], 0.0) for j in range(3)]
            feats["als_cosine_last_1"] = cos[0]
            feats["als_cosine_last_3"] = (cos[0] + cos[1] + cos[2]) / 3.0
            feats["ease_weight_last_1"] = weights[0].astype(np.float32)
            feats["ease_weight_last_3"] = sum(w * x for w, x in zip(decay, weights, strict=True)).astype(np.float32)
        if cfg.session_knn:
            feats["session_knn"] = self._session_knn(view_rows, items, group, offsets)
            feats["session_knn_rank"] = ranks_in_groups(feats["session_knn"], group, offsets)
        if cfg.attribute_transitions:
            feats["attribute_transitions_from_last_1"] = row_overlap(
                self._attr_next, data.attributes, last[:, 0], items
            )
        if cfg.group_relative:
            for name in ("transitions", "ease", "als"):
                values = dense[name][group, items]
                best = np.maximum.reduceat(values, offsets[:-1])[group] if items.size else values
                feats[f"{name}_relative"] = (values / np.where(best > 0, best, 1.0)).astype(np.float32)
        return feats

    def _session_knn(
        self, view_rows: np.ndarray, items: np.ndarray, group: np.ndarray, offsets: np.ndarray
    ) -> np.ndarray:
        """V-SKNN scores of the candidate rows: the chunk's users against every other user of the view."""
        users = view_rows[offsets[:-1]] if offsets.size > 1 else np.empty(0, np.int64)
        sims = np.asarray((self._sknn_query[users] @ self._sknn_neighbours.T).todense(), dtype=np.float32)
        sims[np.arange(users.size), users] = 0.0  # never the user's own history
        k = min(self.config.session_knn, sims.shape[1] - 1)
        if 0 < k < sims.shape[1]:
            cut = np.argpartition(-sims, k - 1, axis=1)[:, k:]
            np.put_along_axis(sims, cut, 0.0, axis=1)
        scores = sp.csr_matrix(sims) @ self.sources.history_
        return np.asarray(scores[group, items]).ravel().astype(np.float32)
