"""Amazon-Beauty candidate stage and reranker features, built a chunk of users at a time.

For each user of a leave-one-out view the candidate list is the union of the top items of every source
(transitions, item-kNN, EASE, ALS through FAISS, popularity), all with the user's history masked; its order
(the ``prior``) is reciprocal-rank fusion of the sources. Each (user, candidate) row gets the features the
reranker learns from: every source's score and rank in the list, transition counts from each of the last three
items, co-occurrence with the last item, how far back the nearest co-occurring history item is (the sequence
"time gap"), attribute (brand / category id) overlap with the recent items and with the user's attribute profile,
item popularity and in-degree, history length. :class:`FeatureConfig` switches on further groups, measured one by
one (docs/user_item_results.md): two-step transitions and random walks over the transition graph, kNN-smoothed
transitions, second-order transitions, embedding similarity to the recent items, session-kNN, attribute-level
transitions, query-relative scores.

The same pass also produces, for the baselines, each dense source's full-ranking top-k and target rank, and for the
pipeline the fallback order of the items outside the candidate list (EASE score), so every method is a full
ranking of the catalogue.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict, Field

from recsys.app.experiments.amazon_beauty.sequences import (
    LeaveOneOut,
    Sequences,
    last_items,
    recency_matrix,
    row_overlap,
    sample_pairs,
    triple_counts,
)
from recsys.app.experiments.amazon_beauty.sources import DENSE_SOURCES, BeautySources
from recsys.app.experiments.user_item.fullrank import apply_mask, target_ranks, topk_rows
from recsys.app.experiments.user_item.rerank import CandidateGroups
from recsys.core.progress import track

RRF_K = 60.0  # reciprocal-rank fusion constant (Cormack et al. 2009)
GAP_DEPTH = 10  # history positions searched for the nearest co-occurring item
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


@dataclass
class ViewPass:
    """Everything one pass over a leave-one-out view produced."""

    groups: CandidateGroups
    labels: np.ndarray  # (n_rows,) 1 where the candidate is the user's target
    rows: np.ndarray  # view rows of the groups (all rows, or only those with the target among candidates)
    source_hits: dict[str, int]  # targets inside each source's top list and inside the union
    n_targets: int
    tops: dict[str, np.ndarray] = field(default_factory=dict)  # per baseline source: (n_view_rows, k)
    ranks: dict[str, np.ndarray] = field(default_factory=dict)  # per baseline source: (n_view_rows,)
    fallback_top: np.ndarray | None = None  # (n_view_rows, k) best non-candidates (EASE), for the pipeline
    fallback_rank: np.ndarray | None = None  # (n_view_rows,) target rank among non-candidates (inf if candidate)


def _fuse(lists: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Union of several ranked lists (-1 padded) with reciprocal-rank fusion score and list count per item."""
    items = np.concatenate(lists)
    ranks = np.concatenate([np.arange(lst.size) for lst in lists]).astype(np.float64)
    ok = items >= 0
    items, ranks = items[ok], ranks[ok]
    uniq, inverse = np.unique(items, return_inverse=True)
    fusion = np.bincount(inverse, weights=1.0 / (RRF_K + 1.0 + ranks), minlength=uniq.size)
    count = np.bincount(inverse, minlength=uniq.size)
    return uniq, fusion, count


SKNN_RECENT = 5  # most recent items of the user's sequence that query the session-kNN
SKNN_DECAY = 0.7  # their weight decay per step back (V-SKNN's position weighting)


def _row_normalised(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """Rows scaled to sum 1 (empty rows stay empty)."""
    totals = np.asarray(matrix.sum(axis=1), dtype=np.float64).ravel()
    return sp.csr_matrix(sp.diags(1.0 / np.where(totals > 0, totals, 1.0)) @ matrix, dtype=np.float32)


def _pair_dot(vectors: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise dot products ``vectors[a[i]] . vectors[b[i]]`` (0 where ``a[i]`` is -1); float32 of shape (n,)."""
    out = np.zeros(a.size, dtype=np.float32)
    ok = a >= 0
    out[ok] = np.einsum("ij,ij->i", vectors[a[ok]], vectors[b[ok]])
    return out


def _group_sums(values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    group = np.repeat(np.arange(offsets.size - 1), np.diff(offsets))
    return np.bincount(group, weights=values, minlength=offsets.size - 1)


def _ranks_in_groups(values: np.ndarray, group: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    order = np.lexsort((-values, group))
    ranks = np.empty(values.size, dtype=np.float32)
    ranks[order] = np.arange(values.size) - offsets[group[order]]
    return ranks


class CandidateBuilder:
    """Runs the candidate stage over a view and assembles reranker rows.

    Parameters
    ----------
    sources : fitted :class:`BeautySources` of this view; eval_k : length of the baseline / fallback top lists
    (0 = do not compute them); only_with_target : keep only users whose target is among the candidates (training).
    """

    def __init__(
        self,
        sources: BeautySources,
        eval_k: int = 0,
        only_with_target: bool = False,
        chunk_size: int = 1024,
        features: FeatureConfig | None = None,
    ):
        self.sources = sources
        self.eval_k = eval_k
        self.only_with_target = only_with_target
        self.chunk_size = chunk_size
        self.features = features if features is not None else FeatureConfig()
        self.feature_names = self.features.names()

    def _fit_statistics(self, data: Sequences, view: LeaveOneOut) -> None:
        """Item-item statistics of the optional feature groups, from the view's input histories only."""
        cfg, src, n = self.features, self.sources, data.n_items
        if cfg.two_hop:
            step = _row_normalised(src.transitions_)
            self._two_hop = (step @ step).tocsr()
        if cfg.walk_steps:
            self._walk = _row_normalised(src.transition_scorer_)
        if cfg.similar_then_next:
            step = _row_normalised(src.transitions_)
            similar = _row_normalised(src.knn_.similarity_.T.tocsr())  # row i: the neighbours of item i
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
            between = _row_normalised(sp.csr_matrix(attrs.T @ src.transitions_ @ attrs))
            self._attr_next = sp.csr_matrix(attrs @ between)

    def run(self, data: Sequences, view: LeaveOneOut, description: str) -> ViewPass:
        n = view.users.size
        cfg = self.sources.config
        self._data, self._view = data, view
        self._last = last_items(view.histories, GAP_DEPTH)
        self._attr_counts = np.asarray(data.attributes.sum(axis=1), dtype=np.float32).ravel()
        self._fit_statistics(data, view)
        hits = dict.fromkeys([*DENSE_SOURCES, "popularity", "union"], 0)
        parts: list[tuple[np.ndarray, ...]] = []
        tops: dict[str, list[np.ndarray]] = {}
        ranks: dict[str, list[np.ndarray]] = {}
        fallback_tops, fallback_ranks = [], []
        starts = range(0, n, self.chunk_size)
        for start in track(starts, description, total=len(starts)):
            rows = np.arange(start, min(n, start + self.chunk_size))
            mask = self.sources.history_[rows]
            dense = self.sources.dense_scores(rows)
            dense["popularity"] = np.tile(self.sources.popularity_, (rows.size, 1))
            faiss_items, _ = self.sources.faiss_candidates(rows, mask)
            lists: dict[str, np.ndarray] = {}
            for name, scores in dense.items():
                apply_mask(scores, mask)
                depth = cfg.popular if name == "popularity" else cfg.per_source
                if name == "als":  # the FAISS stage; its dense scores serve features and the target's full rank
                    lists[name] = faiss_items[:, :depth]
                    top = faiss_items
                else:
                    top = topk_rows(scores, max(depth, self.eval_k))
                    lists[name] = top[:, :depth]
                if self.eval_k:
                    tops.setdefault(name, []).append(top[:, : self.eval_k])
                    ranks.setdefault(name, []).append(target_ranks(scores, view.targets[rows]))
                hits[name] += int((lists[name] == view.targets[rows, None]).any(axis=1).sum())
            chunk = self._assemble(rows, dense, lists)
            hits["union"] += int((_group_sums(chunk[-1], chunk[1]) > 0).sum())
            if self.eval_k:
                fb_top, fb_rank = self._fallback(rows, dense["ease"], chunk)
                fallback_tops.append(fb_top)
                fallback_ranks.append(fb_rank)
            parts.append(chunk)
        groups, labels, kept = self._concat(parts)
        return ViewPass(
            groups=groups,
            labels=labels,
            rows=kept,
            source_hits=hits,
            n_targets=n,
            tops={k: np.concatenate(v) for k, v in tops.items()},
            ranks={k: np.concatenate(v) for k, v in ranks.items()},
            fallback_top=np.concatenate(fallback_tops) if fallback_tops else None,
            fallback_rank=np.concatenate(fallback_ranks) if fallback_ranks else None,
        )

    def _assemble(
        self, rows: np.ndarray, dense: dict[str, np.ndarray], lists: dict[str, np.ndarray]
    ) -> tuple[np.ndarray, ...]:
        """Union candidates of a chunk and their feature rows: (rows, offsets, items, features, prior, labels)."""
        order = [*DENSE_SOURCES, "popularity"]
        cand_items, fusion, agree, sizes = [], [], [], []
        for r in range(rows.size):
            uniq, fus, cnt = _fuse([lists[name][r] for name in order])
            cand_items.append(uniq)
            fusion.append(fus)
            agree.append(cnt)
            sizes.append(uniq.size)
        offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        group = np.repeat(np.arange(rows.size), sizes)
        items = np.concatenate(cand_items) if cand_items else np.empty(0, np.int64)
        view_rows = rows[group]
        feats = self._pair_features(view_rows, items, group, offsets, dense)
        feats["fusion_score"] = np.concatenate(fusion).astype(np.float32) if fusion else np.empty(0, np.float32)
        feats["sources_agreeing"] = np.concatenate(agree).astype(np.float32) if agree else np.empty(0, np.float32)
        labels = (items == self._view.targets[view_rows]).astype(np.int32)
        matrix = np.column_stack([feats[name] for name in self.feature_names]).astype(np.float32)
        return rows, offsets, items, matrix, feats["fusion_score"].astype(np.float64), labels

    def _pair_features(
        self, view_rows: np.ndarray, items: np.ndarray, group: np.ndarray, offsets: np.ndarray, dense: dict
    ) -> dict[str, np.ndarray]:
        src = self.sources
        attrs = self._data.attributes
        last = self._last[view_rows]
        feats: dict[str, np.ndarray] = {}
        for name in DENSE_SOURCES:
            feats[name] = dense[name][group, items]
            feats[f"{name}_rank"] = _ranks_in_groups(feats[name], group, offsets)
        for j in range(3):
            feats[f"transitions_from_last_{j + 1}"] = sample_pairs(src.transitions_, last[:, j], items)
        feats["transitions_to_last_1"] = sample_pairs(src.transitions_.T.tocsr(), last[:, 0], items)
        feats["cooccurrence_with_last_1"] = sample_pairs(src.cooccurrence_, last[:, 0], items)
        gap = np.full(items.size, GAP_DEPTH + 1, dtype=np.float32)
        for j in range(GAP_DEPTH - 1, -1, -1):
            gap[sample_pairs(src.cooccurrence_, last[:, j], items) > 0] = j + 1
        feats["gap_to_nearest_cooccurring"] = gap
        shared = [row_overlap(attrs, attrs, last[:, j], items) for j in range(3)]
        feats["attributes_shared_with_last_1"] = shared[0]
        feats["attributes_shared_with_last_3"] = shared[0] + shared[1] + shared[2]
        feats["attribute_profile_match"] = row_overlap(src.attribute_profile_, attrs, view_rows, items)
        feats["item_popularity"] = src.popularity_[items]
        feats["item_in_degree"] = src.in_degree_[items]
        feats["item_attribute_count"] = self._attr_counts[items]
        feats["history_length"] = np.array([self._view.histories[r].size for r in view_rows], dtype=np.float32)
        feats["last_item_popularity"] = np.where(last[:, 0] >= 0, src.popularity_[np.maximum(last[:, 0], 0)], 0.0)
        feats.update(self._optional_features(view_rows, items, group, offsets, dense, last))
        return feats

    def _optional_features(
        self,
        view_rows: np.ndarray,
        items: np.ndarray,
        group: np.ndarray,
        offsets: np.ndarray,
        dense: dict,
        last: np.ndarray,
    ) -> dict[str, np.ndarray]:
        """The feature groups switched on in :class:`FeatureConfig` (see its field descriptions)."""
        cfg, src = self.features, self.sources
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
            cos = [_pair_dot(self._unit_factors, last[:, j], items) for j in range(3)]
            ease = src.ease_.weights_
            weights = [np.where(last[:, j] >= 0, ease[np.maximum(last[:, j], 0), items], 0.0) for j in range(3)]
            feats["als_cosine_last_1"] = cos[0]
            feats["als_cosine_last_3"] = (cos[0] + cos[1] + cos[2]) / 3.0
            feats["ease_weight_last_1"] = weights[0].astype(np.float32)
            feats["ease_weight_last_3"] = sum(w * x for w, x in zip(decay, weights, strict=True)).astype(np.float32)
        if cfg.session_knn:
            feats["session_knn"] = self._session_knn(view_rows, items, group, offsets)
            feats["session_knn_rank"] = _ranks_in_groups(feats["session_knn"], group, offsets)
        if cfg.attribute_transitions:
            feats["attribute_transitions_from_last_1"] = row_overlap(
                self._attr_next, self._data.attributes, last[:, 0], items
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
        k = min(self.features.session_knn, sims.shape[1] - 1)
        if 0 < k < sims.shape[1]:
            cut = np.argpartition(-sims, k - 1, axis=1)[:, k:]
            np.put_along_axis(sims, cut, 0.0, axis=1)
        scores = sp.csr_matrix(sims) @ self.sources.history_
        return np.asarray(scores[group, items]).ravel().astype(np.float32)

    def _fallback(
        self, rows: np.ndarray, ease: np.ndarray, chunk: tuple[np.ndarray, ...]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Best non-candidate items by EASE (masked, candidates removed) and the target's rank among them."""
        _, offsets, items, *_ = chunk
        group = np.repeat(np.arange(rows.size), np.diff(offsets))
        outside = ease.copy()
        outside[group, items] = -np.inf
        ranks = target_ranks(outside, self._view.targets[rows])
        return topk_rows(outside, self.eval_k), ranks

    def _concat(self, parts: list[tuple[np.ndarray, ...]]) -> tuple[CandidateGroups, np.ndarray, np.ndarray]:
        users, sizes, items, feats, prior, labels = [], [], [], [], [], []
        for rows, offsets, it, fe, pr, lab in parts:
            group_sizes = np.diff(offsets)
            keep = _group_sums(lab, offsets) > 0 if self.only_with_target else np.ones(rows.size, dtype=bool)
            row_keep = np.repeat(keep, group_sizes)
            users.append(rows[keep])
            sizes.append(group_sizes[keep])
            items.append(it[row_keep])
            feats.append(fe[row_keep])
            prior.append(pr[row_keep])
            labels.append(lab[row_keep])
        all_sizes = np.concatenate(sizes)
        groups = CandidateGroups(
            users=np.concatenate(users),
            offsets=np.concatenate([[0], np.cumsum(all_sizes)]).astype(np.int64),
            items=np.concatenate(items),
            features=np.concatenate(feats),
            feature_names=list(self.feature_names),
            prior=np.concatenate(prior),
        )
        return groups, np.concatenate(labels), groups.users
