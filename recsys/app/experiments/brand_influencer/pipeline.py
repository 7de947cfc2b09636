"""The full brand -> creator pipeline: FAISS retrieval over content, then LightGBM LambdaRank over pair features.

Stages (LensKit's names): candidate selector = :class:`models.retrieval.ann.VectorIndex` over creator content vectors
with the learned ``weighted_sim`` query (exact inner product); scorer = :class:`ContentFeaturizer` pair features;
ranker = :class:`models.gbm.ranker.LambdaRanker`. Candidates below the retrieval cut keep their retrieval order
beneath every reranked one, so every candidate gets a score.

Training is stacked so that the ranker sees features distributed as at test time (unseen brands, mostly unseen
creators): the training brands are split into ``inner_folds`` brand-disjoint folds; for each, the featurizer is
fit on the other inner folds and the held-out inner brands rank the creators of their own pairs (retrieval top
``retrieve_k`` become the ranker's training group, label 1 = positive). One inner fold's groups are the
validation set for early stopping; the ranker is then refit on all groups with that many trees, and the
featurizer is refit on all training brands.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field
from scipy.special import logsumexp
from sklearn.model_selection import KFold

from models.gbm.ranker import LambdaRanker
from models.retrieval.ann import VectorIndex
from recsys.app.experiments.brand_influencer.content import MultiViewScorer, standardise
from recsys.app.experiments.brand_influencer.data import BrandInfluencerData, Brands, Creators
from recsys.app.experiments.brand_influencer.features import FEATURE_NAMES, ContentFeaturizer

COUNT_FEATURE = "creator_train_brands"  # ablation only: creator identity (how many training brands chose it)
# the learned fusion: the multi-view scorer's per-brand z-scored views (content.MultiViewScorer) and their sum
MULTI_VIEW_FEATURES = ("mv_topics", "mv_hashtags", "mv_cca", "mv_sum")


class PipelineSettings(BaseModel):
    """Settings of the full pipeline (featurizer, retrieval, ranker)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    retrieve_k: int = Field(default=1000, ge=1, description="Creators retrieved per brand (FAISS) and reranked.")
    inner_folds: int = Field(default=4, ge=2, description="Brand-disjoint inner folds that build the ranker's groups.")
    image_components: int = Field(default=32, ge=1, description="PCA components of brand image features.")
    neighbours: int = Field(default=10, ge=1, description="Most similar training brands used for transfer features.")
    neighbour_temperature: float = Field(default=0.1, gt=0, description="Softmax temperature of neighbours.")
    cca_components: int = Field(default=16, ge=1)
    cca_reg: float = Field(default=0.1, ge=0)
    ridge_alpha: float = Field(default=1.0, gt=0)
    diag_negatives: int = Field(default=5, ge=1, description="Random negatives per positive for weighted_sim.")
    num_leaves: int = Field(default=15, ge=2)
    learning_rate: float = Field(default=0.05, gt=0)
    n_estimators: int = Field(default=400, ge=1)
    early_stopping_rounds: int = Field(default=50, ge=1)
    min_data_in_leaf: int = Field(default=50, ge=1)
    num_threads: int = Field(default=1, ge=0, description="LightGBM threads (0 = all cores).")
    use_creator_counts: bool = Field(default=False, description="ABLATION: creator identity counts.")
    multi_view_features: bool = Field(
        default=False, description="Learned fusion: also rank on the multi-view scorer's views (MULTI_VIEW_FEATURES)."
    )


_RANKER_FIELDS = {
    "retrieve_k",
    "inner_folds",
    "num_leaves",
    "learning_rate",
    "n_estimators",
    "early_stopping_rounds",
    "min_data_in_leaf",
    "num_threads",
    "use_creator_counts",
    "multi_view_features",
}


def _featurizer(settings: PipelineSettings, seed: int) -> ContentFeaturizer:
    return ContentFeaturizer(
        image_components=settings.image_components,
        neighbours=settings.neighbours,
        neighbour_temperature=settings.neighbour_temperature,
        cca_components=settings.cca_components,
        cca_reg=settings.cca_reg,
        ridge_alpha=settings.ridge_alpha,
        diag_negatives=settings.diag_negatives,
        seed=seed,
    )


def pool_of(data: BrandInfluencerData, brand_rows: np.ndarray) -> np.ndarray:
    """Creator rows that appear in the pairs of ``brand_rows`` (sorted): a fold's candidate pool."""
    return np.unique(data.positives_of(brand_rows)["creator_row"].to_numpy())


def fit_multi_view(featurizer: ContentFeaturizer, data: BrandInfluencerData, brand_rows: np.ndarray) -> MultiViewScorer:
    """The multi-view scorer of ``brand_rows`` (hubness term) and their pairs' creators (hashtag directions)."""
    creators = data.creators.subset(pool_of(data, brand_rows))
    return MultiViewScorer.fit(featurizer, data.brands.subset(brand_rows), creators)


def relevance(data: BrandInfluencerData, brand_rows: np.ndarray, creator_rows: np.ndarray) -> np.ndarray:
    """Bool matrix (len(brand_rows), len(creator_rows)): True where the pair is a positive."""
    pairs = data.positives_of(brand_rows)
    b = pd.Index(brand_rows).get_indexer(pd.Index(pairs["brand_row"]))
    c = pd.Index(creator_rows).get_indexer(pd.Index(pairs["creator_row"]))
    out = np.zeros((len(brand_rows), len(creator_rows)), dtype=bool)
    keep = c >= 0
    out[b[keep], c[keep]] = True
    return out


_FEATURIZER_CACHE: dict[tuple[object, ...], tuple[BrandInfluencerData, ContentFeaturizer]] = {}
_CACHE_SIZE = 12


def fit_featurizer(
    data: BrandInfluencerData, brand_rows: np.ndarray, settings: PipelineSettings, seed: int
) -> ContentFeaturizer:
    """Fit the featurizer on the given training brands and their pairs only.

    Fits are memoised per (data object, brand rows, featurizer settings, seed) — cross-validation refits the
    same inner folds for the pipeline and its ablation. The cache holds the data object itself, so a key can
    never match a different dataset.
    """
    rows = np.asarray(brand_rows, dtype=np.int64)
    relevant = settings.model_dump(exclude=_RANKER_FIELDS)
    key = (id(data), rows.tobytes(), tuple(sorted(relevant.items())), seed)
    hit = _FEATURIZER_CACHE.get(key)
    if hit is not None and hit[0] is data:
        return hit[1]
    pairs = data.positives_of(rows)
    local = pd.Index(rows).get_indexer(pd.Index(pairs["brand_row"]))
    featurizer = _featurizer(settings, seed).fit(
        data.brands.subset(rows), data.creators, local, pairs["creator_row"].to_numpy()
    )
    if len(_FEATURIZER_CACHE) >= _CACHE_SIZE:
        _FEATURIZER_CACHE.pop(next(iter(_FEATURIZER_CACHE)))
    _FEATURIZER_CACHE[key] = (data, featurizer)
    return featurizer


def retrieve(
    featurizer: ContentFeaturizer, brands: Brands, creators: Creators, k: int, allowed: np.ndarray | None = None
) -> list[np.ndarray]:
    """Per brand, the creator rows (into ``creators``) of the top-``k`` retrieval scores among ``allowed``
    (bool (n_brands, n_creators) or None = all), best first."""
    queries, items = featurizer.retrieval_vectors(brands, creators)
    index = VectorIndex(kind="flat").fit(items)
    out = []
    for i in range(len(brands)):
        mask = None if allowed is None else allowed[i]
        _, rows = index.search_filtered(queries[i], k, mask)
        out.append(rows)
    return out


MIN_BRANDS_FOR_CROSS_NORM = 10


def cross_brand_normalise(
    scores: np.ndarray, temperature: float = 1.0, mask: np.ndarray | None = None, iterations: int = 10
) -> np.ndarray:
    """TRANSDUCTIVE re-scoring of a batch of brands x creators, as a soft assignment of creators to brands.

    Each brand's scores are standardised over its candidates, divided by ``temperature``, and Sinkhorn-balanced
    (``iterations`` rounds of normalising over brands, then over creators, in log space): a creator that fits
    another brand of the batch better is pushed down. This assumes each candidate creator belongs to roughly
    one brand of the batch (true of the published test); it needs many brands. Cells outside ``mask`` are
    ignored and returned as -inf. Returns log assignment weights of shape ``scores.shape``.
    """
    m = np.ones(scores.shape, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    if m.shape != scores.shape:
        raise ValueError(f"mask {m.shape} and scores {scores.shape} differ in shape")
    x = np.where(m, scores, 0.0)
    count = np.maximum(m.sum(axis=1, keepdims=True), 1)
    mean = x.sum(axis=1, keepdims=True) / count
    std = np.sqrt((np.where(m, x - mean, 0.0) ** 2).sum(axis=1, keepdims=True) / count)
    log_p = np.where(m, (x - mean) / np.where(std > 0, std, 1.0) / temperature, -np.inf)
    used = m.any(axis=0, keepdims=True)
    for _ in range(iterations):
        log_p = log_p - np.where(used, logsumexp(log_p, axis=0, keepdims=True), 0.0)
        log_p = log_p - logsumexp(log_p, axis=1, keepdims=True)
    return np.where(m, log_p, -np.inf)


class BrandCreatorPipeline:
    """FAISS retrieval + LambdaRank rerank over content pair features (see the module docstring)."""

    def __init__(self, settings: PipelineSettings | None = None, seed: int = 0) -> None:
        self.settings = settings or PipelineSettings()
        self.seed = seed

    @property
    def feature_names(self) -> list[str]:
        views = list(MULTI_VIEW_FEATURES) if self.settings.multi_view_features else []
        return [*FEATURE_NAMES, *views, *([COUNT_FEATURE] if self.settings.use_creator_counts else [])]

    def _multi_view(
        self, featurizer: ContentFeaturizer, data: BrandInfluencerData, brand_rows: np.ndarray
    ) -> MultiViewScorer | None:
        """The multi-view scorer of ``brand_rows`` and their pairs' creators (None unless the fusion is on)."""
        if not self.settings.multi_view_features:
            return None
        return fit_multi_view(featurizer, data, brand_rows)

    @staticmethod
    def _add_views(
        feats: np.ndarray,
        multi_view: MultiViewScorer | None,
        featurizer: ContentFeaturizer,
        brands: Brands,
        creators: Creators,
        mask: np.ndarray | None,
    ) -> np.ndarray:
        """``feats`` plus the MULTI_VIEW_FEATURES columns (per-brand z-scores over the brand's candidates)."""
        if multi_view is None:
            return feats
        topics, hashtags = multi_view.views(featurizer, brands, creators, mask)
        cca = standardise(np.nan_to_num(feats[..., FEATURE_NAMES.index("cca_sim")].astype(np.float64)), mask)
        extra = np.stack([topics, hashtags, cca, topics + hashtags + cca], axis=2).astype(feats.dtype)
        return np.concatenate([feats, extra], axis=2)

    def _counts_column(self, creator_ids: np.ndarray) -> np.ndarray:
        return np.array([self.creator_counts_.get(c, 0) for c in creator_ids], dtype=np.float32)

    def _groups(
        self,
        featurizer: ContentFeaturizer,
        multi_view: MultiViewScorer | None,
        data: BrandInfluencerData,
        query_rows: np.ndarray,
        counts: dict[str, int],
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(X, y, group sizes) of the query brands ranking the creators of their own pairs (retrieved top-k)."""
        pool = pool_of(data, query_rows)
        brands, creators = data.brands.subset(query_rows), data.creators.subset(pool)
        feats = self._add_views(featurizer.transform(brands, creators), multi_view, featurizer, brands, creators, None)
        if self.settings.use_creator_counts:
            extra = np.array([counts.get(c, 0) for c in creators.ids], dtype=np.float32)
            feats = np.concatenate([feats, np.broadcast_to(extra, feats.shape[:2])[..., None]], axis=2)
        labels = relevance(data, query_rows, pool)
        cands = retrieve(featurizer, brands, creators, self.settings.retrieve_k)
        xs = [feats[i, rows] for i, rows in enumerate(cands)]
        ys = [labels[i, rows].astype(np.int32) for i, rows in enumerate(cands)]
        return np.vstack(xs), np.concatenate(ys), np.array([len(r) for r in cands])

    @staticmethod
    def _creator_counts(data: BrandInfluencerData, brand_rows: np.ndarray) -> dict[str, int]:
        rows = data.positives_of(brand_rows)["creator_row"].to_numpy()
        ids, counts = np.unique(data.creators.ids[rows], return_counts=True)
        return dict(zip(ids.tolist(), counts.tolist(), strict=True))

    def fit(self, data: BrandInfluencerData, brand_rows: np.ndarray) -> BrandCreatorPipeline:
        """Train on the brands ``brand_rows`` of ``data`` and their pairs (nothing else is read)."""
        brand_rows = np.asarray(brand_rows, dtype=np.int64)
        folds = min(self.settings.inner_folds, len(brand_rows))
        parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        splitter = KFold(folds, shuffle=True, random_state=self.seed)
        for inner_train, inner_test in splitter.split(brand_rows):
            featurizer = fit_featurizer(data, brand_rows[inner_train], self.settings, self.seed)
            counts = self._creator_counts(data, brand_rows[inner_train])
            multi_view = self._multi_view(featurizer, data, brand_rows[inner_train])
            parts.append(self._groups(featurizer, multi_view, data, brand_rows[inner_test], counts))
        self._fit_ranker(parts)
        self.featurizer_ = fit_featurizer(data, brand_rows, self.settings, self.seed)
        self.multi_view_ = self._multi_view(self.featurizer_, data, brand_rows)
        self.creator_counts_ = self._creator_counts(data, brand_rows)
        return self

    def _ranker(self, n_estimators: int) -> LambdaRanker:
        s = self.settings
        return LambdaRanker(
            num_leaves=s.num_leaves,
            learning_rate=s.learning_rate,
            n_estimators=n_estimators,
            early_stopping_rounds=s.early_stopping_rounds,
            min_data_in_leaf=s.min_data_in_leaf,
            eval_at=(50,),
            feature_fraction=0.8,
            lambdarank_truncation_level=60,
            num_threads=s.num_threads,
            seed=self.seed,
        )

    def _fit_ranker(self, parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> None:
        """Early stopping with the first inner fold's groups as validation, then a refit on all groups."""
        names = self.feature_names
        x_all = np.vstack([p[0] for p in parts])
        y_all = np.concatenate([p[1] for p in parts])
        g_all = np.concatenate([p[2] for p in parts])
        if len(parts) > 1 and y_all.sum() > 0:
            x_tr, y_tr, g_tr = (
                np.vstack([p[0] for p in parts[1:]]),
                np.concatenate([p[1] for p in parts[1:]]),
                np.concatenate([p[2] for p in parts[1:]]),
            )
            probe = self._ranker(self.settings.n_estimators).fit(x_tr, y_tr, g_tr, names, *parts[0])
            rounds = max(1, probe.best_iteration_)
        else:
            rounds = self.settings.n_estimators
        self.ranker_ = self._ranker(rounds).fit(x_all, y_all, g_all, names)
        self.n_training_groups_ = len(g_all)

    def score(self, brands: Brands, creators: Creators, allowed: np.ndarray | None = None) -> np.ndarray:
        """Scores of shape (n_brands, n_creators); higher is better. Retrieved candidates are reranked; the rest
        keep their retrieval order below them. Cells outside ``allowed`` (if given) are -inf."""
        feats = self.featurizer_.transform(brands, creators)
        feats = self._add_views(feats, self.multi_view_, self.featurizer_, brands, creators, allowed)
        if self.settings.use_creator_counts:
            extra = self._counts_column(creators.ids)
            feats = np.concatenate([feats, np.broadcast_to(extra, feats.shape[:2])[..., None]], axis=2)
        cands = retrieve(self.featurizer_, brands, creators, self.settings.retrieve_k, allowed)
        flat = np.vstack([feats[i, rows] for i, rows in enumerate(cands)])
        reranked = self.ranker_.predict(flat) if len(flat) else np.empty(0)
        weighted = feats[..., FEATURE_NAMES.index("weighted_sim")].astype(np.float64)
        out = np.full((len(brands), len(creators)), -np.inf)
        start = 0
        for i, rows in enumerate(cands):
            top = reranked[start : start + len(rows)]
            start += len(rows)
            tail = np.ones(len(creators), dtype=bool) if allowed is None else allowed[i].copy()
            tail[rows] = False
            if tail.any():
                w = weighted[i, tail]
                span = max(float(w.max() - w.min()), 1e-12)
                floor = float(top.min()) if top.size else 0.0
                out[i, tail] = floor - 1.5 + 0.5 * (w - w.min()) / span  # below every reranked candidate
            out[i, rows] = top
        return out

    # --- persistence --------------------------------------------------------------------------------------------

    def save(self, directory: Path) -> dict[str, Any]:
        """Write ``ranker.txt`` (+ ``.json``), the featurizer arrays and ``pipeline.json``. Returns the JSON."""
        if self.settings.use_creator_counts or self.settings.multi_view_features:
            raise ValueError("the creator-count ablation and the fusion are offline comparisons only, not saved")
        directory.mkdir(parents=True, exist_ok=True)
        self.ranker_.save(directory / "ranker.txt")
        self.featurizer_.save(directory)
        meta = {
            "settings": self.settings.model_dump(),
            "seed": self.seed,
            "feature_names": self.feature_names,
            "best_iteration": self.ranker_.best_iteration_,
            "n_training_groups": self.n_training_groups_,
        }
        (directory / "pipeline.json").write_text(json.dumps(meta, indent=2))
        return meta

    @classmethod
    def load(cls, directory: Path) -> BrandCreatorPipeline:
        """Read a saved pipeline; ValueError names the file whenever artifacts are missing or disagree."""
        meta_path = directory / "pipeline.json"
        if not meta_path.is_file():
            raise ValueError(f"missing artifact {meta_path} (is {directory} a `recsys train` output folder?)")
        meta = json.loads(meta_path.read_text())
        obj = cls(PipelineSettings.model_validate(meta["settings"]), seed=int(meta["seed"]))
        if meta["feature_names"] != obj.feature_names:
            raise ValueError(
                f"{meta_path}: feature names {meta['feature_names']} differ from this code's "
                f"{obj.feature_names}; retrain with `recsys train`"
            )
        if not (directory / "ranker.txt").is_file():
            raise ValueError(f"missing artifact {directory / 'ranker.txt'}")
        obj.ranker_ = LambdaRanker.load(directory / "ranker.txt")
        if obj.ranker_.feature_names_ != obj.feature_names:
            raise ValueError(
                f"{directory / 'ranker.txt'}: model features {obj.ranker_.feature_names_} differ from "
                f"{obj.feature_names}"
            )
        obj.featurizer_ = ContentFeaturizer.load(directory)
        obj.creator_counts_ = {}
        obj.multi_view_ = None
        obj.n_training_groups_ = int(meta["n_training_groups"])
        return obj
