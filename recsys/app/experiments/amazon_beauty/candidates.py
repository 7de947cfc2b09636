"""Amazon-Beauty candidate stage and reranker features, built a chunk of users at a time.

For each user of a leave-one-out view the candidate list is the union of the top items of every source
(transitions, item-kNN, EASE, ALS through FAISS, popularity), all with the user's history masked; its order
(the ``prior``) is reciprocal-rank fusion of the sources. Each (user, candidate) row gets the features the
reranker learns from: every source's score and rank in the list, transition counts from each of the last three
items, co-occurrence with the last item, how far back the nearest co-occurring history item is (the sequence
"time gap"), attribute (brand / category id) overlap with the recent items and with the user's attribute profile,
item popularity and in-degree, history length (:data:`BASE_FEATURES`). :class:`FeatureConfig` switches on further
groups, measured one by one; they are made in :mod:`.feature_groups`.

The same pass also produces, for the baselines, each dense source's full-ranking top-k and target rank, and for the
pipeline the fallback order of the items outside the candidate list (EASE score), so every method is a full
ranking of the catalogue.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from recsys.app.experiments.amazon_beauty.feature_groups import BASE_FEATURES as BASE_FEATURES  # re-exported
from recsys.app.experiments.amazon_beauty.feature_groups import FeatureConfig, OptionalFeatures, ranks_in_groups
from recsys.app.experiments.amazon_beauty.sequences import LeaveOneOut, Sequences, last_items, row_overlap, sample_pairs
from recsys.app.experiments.amazon_beauty.sources import DENSE_SOURCES, BeautySources
from recsys.app.experiments.user_item.fullrank import apply_mask, target_ranks, topk_rows
from recsys.app.experiments.user_item.rerank import CandidateGroups
from recsys.core.progress import track

RRF_K = 60.0  # reciprocal-rank fusion constant (Cormack et al. 2009)
GAP_DEPTH = 10  # history positions searched for the nearest co-occurring item


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


def _group_sums(values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    group = np.repeat(np.arange(offsets.size - 1), np.diff(offsets))
    return np.bincount(group, weights=values, minlength=offsets.size - 1)


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

    def run(self, data: Sequences, view: LeaveOneOut, description: str) -> ViewPass:
        n = view.users.size
        cfg = self.sources.config
        self._data, self._view = data, view
        self._last = last_items(view.histories, GAP_DEPTH)
        self._attr_counts = np.asarray(data.attributes.sum(axis=1), dtype=np.float32).ravel()
        self._optional = OptionalFeatures(self.features, self.sources).fit(data, view)
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
            feats[f"{name}_rank"] = ranks_in_groups(feats[name], group, offsets)
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
        feats.update(self._optional.compute(self._data, view_rows, items, group, offsets, dense, last))
        return feats

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
