"""ml-100k candidate stage and reranker features, all learned from one set of *known* interactions.

:class:`MovieLensFeatures` is fitted on the interactions a stage may see (a training fold, or the whole training
split) and then builds :class:`~recsys.app.experiments.user_item.rerank.CandidateGroups` for every user:

- candidates: FAISS inner-product retrieval over EASE's item-item weight columns (the user's query vector is
  their history row, so the FAISS order is exactly EASE's), skipping the masked items;
- collaborative scores and within-list ranks: EASE, ALS, item-kNN and a *temporal adjacency* score (items rated
  close in time by the same users, from the known timestamps);
- side information: user age, gender, occupation (audience profile), item genres and release year, the user's
  genre affinity, the item's popularity within the user's gender / age band / occupation;
- time: how popular the item was on the days the user was active, the item's first and mean rating time relative
  to the user's activity.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recsys.app.experiments.ml100k.movielens import MovieLens
from recsys.app.experiments.user_item.baselines import CFSettings
from recsys.app.experiments.user_item.fullrank import history_matrix
from recsys.app.experiments.user_item.rerank import CandidateGroups
from recsys.app.experiments.user_item.retrieval import FaissCandidates

DAY = 86_400.0
AGE_BANDS = (18, 25, 35, 45, 50, 56)  # MovieLens-1M's age groups
_SCORE_SOURCES = ("ease", "als", "knn", "adjacency")


def temporal_adjacency(data: MovieLens, known: list[np.ndarray], window: int) -> sp.csr_matrix:
    """Item x item weights: items within ``window`` positions of each other in a user's time-ordered known
    ratings, weight 1/distance, normalised by sqrt(popularity) on both sides. Shape (n_items, n_items)."""
    rows, cols, vals = [], [], []
    for r in known:
        seq = data.item[r[np.lexsort((data.item[r], data.timestamp[r]))]]
        for dist in range(1, min(window, seq.size - 1) + 1):
            rows += [seq[:-dist], seq[dist:]]
            cols += [seq[dist:], seq[:-dist]]
            vals += [np.full(seq.size - dist, 1.0 / dist, dtype=np.float32)] * 2
    n = data.n_items
    if not rows:
        return sp.csr_matrix((n, n), dtype=np.float32)
    adj = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))
    pop = np.bincount(data.item[np.concatenate(known)], minlength=n).astype(np.float32)
    scale = sp.diags(1.0 / np.sqrt(pop + 1.0))
    return (scale @ adj @ scale).tocsr().astype(np.float32)


def day_popularity(data: MovieLens, known_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(scores, totals): known ratings of each item on the days (±1) each user was active, shape
    (n_users, n_items), and the number of known ratings on those days per user, shape (n_users,)."""
    day = (data.timestamp // DAY).astype(np.int64)
    day -= day.min()
    n_days = int(day.max()) + 1
    ones = np.ones(known_rows.size, dtype=np.float32)
    active = sp.csr_matrix((ones, (data.user[known_rows], day[known_rows])), shape=(data.n_users, n_days))
    spread = sp.diags([np.ones(n_days - abs(o)) for o in (-1, 0, 1)], [-1, 0, 1])
    active = (active @ spread).tocsr()
    active.data[:] = 1.0
    item_days = sp.csr_matrix((ones, (data.item[known_rows], day[known_rows])), shape=(data.n_items, n_days))
    scores = np.asarray((active @ item_days.T).todense(), dtype=np.float32)
    totals = np.asarray(active @ np.asarray(item_days.sum(axis=0)).ravel()).ravel().astype(np.float32)
    return scores, totals


def _group_popularity(codes: np.ndarray, data: MovieLens, known_rows: np.ndarray) -> np.ndarray:
    """Share of each group's users who rated each item (known rows); shape (n_groups, n_items)."""
    n_groups = int(codes.max()) + 1
    counts = np.zeros((n_groups, data.n_items), dtype=np.float32)
    np.add.at(counts, (codes[data.user[known_rows]], data.item[known_rows]), 1.0)
    return counts / np.maximum(np.bincount(codes, minlength=n_groups), 1)[:, None]


def _ranks_within(values: np.ndarray) -> np.ndarray:
    """0-based descending rank of each entry within its row (ties by position)."""
    return np.argsort(np.argsort(-values, axis=1, kind="stable"), axis=1, kind="stable").astype(np.float32)


class MovieLensFeatures:
    """Candidate stage and reranker features for ml-100k, learned from known interactions.

    Parameters
    ----------
    cf : collaborative model settings; n_candidates : FAISS candidates per user;
    adjacency_window : positions within which two ratings of a user count as adjacent; seed : ALS seed.
    """

    def __init__(self, cf: CFSettings, n_candidates: int, adjacency_window: int = 10, seed: int = 0) -> None:
        self.cf = cf
        self.n_candidates = n_candidates
        self.adjacency_window = adjacency_window
        self.seed = seed

    def fit(self, data: MovieLens, known: list[np.ndarray]) -> MovieLensFeatures:
        """Learn from ``known[u]`` = interaction-row indices user ``u`` may use (list of n_users arrays)."""
        rows = np.concatenate(known)
        X = history_matrix([data.item[r] for r in known], data.n_items)
        users = np.arange(data.n_users)
        ease = self.cf.ease().fit(X)
        self.history_ = X
        self.scores_ = {
            "ease": ease.score(users, X),
            "als": self.cf.als(self.seed).fit(X).score(users, X),
            "knn": self.cf.knn().fit(X).score(users, X),
            "adjacency": np.asarray((X @ temporal_adjacency(data, known, self.adjacency_window)).todense()),
        }
        self.retriever_ = FaissCandidates(self.n_candidates).fit(np.ascontiguousarray(ease.weights_.T))
        self.day_pop_, self.day_total_ = day_popularity(data, rows)
        self._fit_item_stats(data, rows)
        self._fit_user_stats(data, known, X)
        return self

    def _fit_item_stats(self, data: MovieLens, rows: np.ndarray) -> None:
        n = data.n_items
        item = data.item[rows]
        pop = np.bincount(item, minlength=n).astype(np.float32)
        rating_sum = np.bincount(item, weights=data.rating[rows], minlength=n)
        global_mean = float(data.rating[rows].mean())
        ts = data.timestamp[rows]
        first = np.full(n, np.nan)
        np.fmin.at(first, item, ts)
        self.item_pop_ = pop
        self.item_mean_rating_ = ((rating_sum + 5.0 * global_mean) / (pop + 5.0)).astype(np.float32)
        time_sum = np.bincount(item, weights=ts, minlength=n)
        self.item_mean_time_ = np.where(pop > 0, time_sum / np.maximum(pop, 1), np.nan)
        self.item_first_time_ = first
        groups = {
            "gender": data.gender.astype(np.int64),
            "age_band": np.digitize(data.age, AGE_BANDS).astype(np.int64),
            "occupation": data.occupation,
        }
        self.group_pop_ = {name: (codes, _group_popularity(codes, data, rows)) for name, codes in groups.items()}

    def _fit_user_stats(self, data: MovieLens, known: list[np.ndarray], X: sp.csr_matrix) -> None:
        n_known = np.array([r.size for r in known], dtype=np.float32)
        self.user_n_ = n_known
        self.user_mean_rating_ = np.array([data.rating[r].mean() if r.size else np.nan for r in known], np.float32)
        self.user_median_time_ = np.array([np.median(data.timestamp[r]) if r.size else np.nan for r in known])
        self.user_genre_share_ = np.asarray(X @ data.genres.astype(np.float32)) / np.maximum(n_known, 1)[:, None]
        years = [data.year[data.item[r]] for r in known]
        self.user_mean_year_ = np.array([np.nanmean(y) if np.isfinite(y).any() else np.nan for y in years], np.float32)

    def candidates(self, mask: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
        """(items, scores) of shape (n_users, n_candidates): FAISS top items per user outside ``mask``."""
        return self.retriever_.retrieve(self.history_.toarray(), mask)

    def groups(self, data: MovieLens, items: np.ndarray, prior: np.ndarray) -> CandidateGroups:
        """Feature rows for the candidate matrix ``items`` (n_users, n); ``-1`` slots are dropped."""
        keep = items >= 0
        sizes = keep.sum(axis=1)
        uu = np.repeat(np.arange(items.shape[0]), items.shape[1])[keep.ravel()]
        ii = items[keep]
        feats: dict[str, np.ndarray] = {}
        for name in _SCORE_SOURCES:
            full = self.scores_[name]
            block = np.where(keep, full[np.arange(items.shape[0])[:, None], np.maximum(items, 0)], -np.inf)
            feats[name] = full[uu, ii]
            feats[f"{name}_rank"] = _ranks_within(block)[keep]
        feats.update(self._side_features(data, uu, ii))
        names = list(feats)
        return CandidateGroups(
            users=np.arange(items.shape[0]),
            offsets=np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
            items=ii.astype(np.int64),
            features=np.column_stack([feats[n] for n in names]).astype(np.float32),
            feature_names=names,
            prior=prior[keep].astype(np.float64),
        )

    def _side_features(self, data: MovieLens, uu: np.ndarray, ii: np.ndarray) -> dict[str, np.ndarray]:
        genres = data.genres[ii].astype(np.float32)
        affinity = self.user_genre_share_[uu] * genres
        feats: dict[str, np.ndarray] = {
            "item_popularity": self.item_pop_[ii],
            "item_mean_rating": self.item_mean_rating_[ii],
            "item_year": data.year[ii],
            "year_minus_user_mean_year": data.year[ii] - self.user_mean_year_[uu],
            "genre_affinity_mean": affinity.sum(axis=1) / np.maximum(genres.sum(axis=1), 1.0),
            "genre_affinity_max": affinity.max(axis=1),
            "user_age": data.age[uu],
            "user_gender_m": data.gender[uu],
            "user_occupation": data.occupation[uu].astype(np.float32),
            "user_known_items": self.user_n_[uu],
            "user_mean_rating": self.user_mean_rating_[uu],
            "day_popularity": self.day_pop_[uu, ii],
            "day_popularity_share": self.day_pop_[uu, ii] / np.maximum(self.day_total_[uu], 1.0),
            "day_popularity_per_rating": self.day_pop_[uu, ii] / (self.item_pop_[ii] + 1.0),
            "item_first_rating_days_from_user": (self.item_first_time_[ii] - self.user_median_time_[uu]) / DAY,
            "item_mean_time_days_from_user": (self.item_mean_time_[ii] - self.user_median_time_[uu]) / DAY,
        }
        for name, (codes, share) in self.group_pop_.items():
            feats[f"popularity_within_{name}"] = share[codes[uu], ii]
        for g, genre in enumerate(data.genre_names):
            feats[f"genre_{genre}"] = genres[:, g]
        return feats
