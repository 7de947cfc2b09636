"""Untrained content-only scorers that work for unseen creators: a multi-view (topic + hashtag) similarity.

In the spirit of MORNING / CAMERA's multi-perspective account representations, within the features we have:
each view is scored separately — the Hellinger cosine of the 19 LDA topics, and the cosine of hashtag embeddings
centred on training creators with their ``hashtag_components`` top principal directions removed ("all-but-the-top",
Mu & Viswanath, ICLR 2018: a few dominant directions of the node2vec hashtag space, shared by nearly every account,
drown the brand-specific signal) — then corrected for hubness with CSLS (Conneau et al., 2018: a creator close to
*every* training brand is pushed down by its mean similarity to its ``hub_k`` nearest training brands),
standardised per brand, and the views are summed with equal weight. Nothing is fitted on labels except the hashtag
centring and principal directions (training creators' hashtags, unsupervised) and the set of training brands used
for the hubness term. ``extra_views`` adds further (already computed) score matrices as views of the same weight,
e.g. the featurizer's learned ``cca_sim`` (brand topics, hashtags, image and category against creator content).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from recsys.app.experiments.brand_influencer.data import Brands, Creators
from recsys.app.experiments.brand_influencer.features import ContentFeaturizer, unit_rows

HUB_K = 10
HASHTAG_COMPONENTS = 20
MULTI_VIEW_PREFIX = "multiview"
_MULTI_VIEW_ARRAYS = ("directions", "train_topics", "train_hashtags")


def top_directions(vectors: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` leading principal directions (k, dim) of ``vectors`` (centred on their mean first)."""
    k = max(0, min(k, *vectors.shape))
    if k == 0:
        return np.zeros((0, vectors.shape[1]))
    _, _, vt = np.linalg.svd(vectors - vectors.mean(axis=0), full_matrices=False)
    return vt[:k]


def _hashtag_view(hashtag: np.ndarray, mean: np.ndarray, directions: np.ndarray) -> np.ndarray:
    """Unit hashtag embeddings minus ``mean``, with their components along ``directions`` removed, at unit norm."""
    centred = unit_rows(hashtag) - mean
    return unit_rows(centred - (centred @ directions.T) @ directions)


def standardise(scores: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Per-row (per-brand) z-scores; with ``mask``, mean and std are those of the row's True cells (a brand's
    candidates), so a brand's views are weighed against each other over the creators it actually ranks."""
    if mask is None or mask.all():
        std = scores.std(axis=1, keepdims=True)
        return (scores - scores.mean(axis=1, keepdims=True)) / np.where(std > 0, std, 1.0)
    count = np.maximum(mask.sum(axis=1, keepdims=True), 1)
    mean = np.where(mask, scores, 0.0).sum(axis=1, keepdims=True) / count
    std = np.sqrt(np.where(mask, (scores - mean) ** 2, 0.0).sum(axis=1, keepdims=True) / count)
    return np.where(mask, (scores - mean) / np.where(std > 0, std, 1.0), 0.0)


def _csls(sims: np.ndarray, train_sims: np.ndarray, k: int) -> np.ndarray:
    """CSLS: 2 cos(b, c) - mean of c's ``k`` best cosines to training brands (the brand-side term is a constant
    per brand, so it is left out: it does not change a brand's ranking)."""
    k = max(1, min(k, train_sims.shape[0]))
    hub = np.sort(train_sims, axis=0)[-k:].mean(axis=0)
    return 2.0 * sims - hub[None, :]


@dataclass(frozen=True)
class MultiViewScorer:
    """What the multi-view score learns from training data, so that it can be saved and reapplied to new brands.

    ``directions`` (k, 128): the removed top principal directions of the training pairs' creators' hashtags;
    ``train_topics`` / ``train_hashtags``: the training brands' topic and hashtag views (the CSLS hubness term).
    The featurizer (hashtag centring, the CCA view) is the pipeline's and is saved with it.
    """

    hub_k: int
    hashtag_components: int
    directions: np.ndarray
    train_topics: np.ndarray
    train_hashtags: np.ndarray

    @classmethod
    def fit(
        cls,
        featurizer: ContentFeaturizer,
        train_brands: Brands,
        train_creators: Creators | None = None,
        hub_k: int = HUB_K,
        hashtag_components: int = HASHTAG_COMPONENTS,
    ) -> MultiViewScorer:
        """Fit on the training brands and the training pairs' creators (None: no hashtag direction removed)."""
        mean = featurizer.hashtag_mean_  # mean unit hashtag vector of the training pairs' creators
        directions = np.zeros((0, mean.shape[0]))
        if train_creators is not None and hashtag_components > 0:
            directions = top_directions(unit_rows(train_creators.hashtag) - mean, hashtag_components)
        topics, _ = featurizer.brand_blocks(train_brands)
        hashtags = _hashtag_view(train_brands.hashtag, mean, directions)
        return cls(hub_k, hashtag_components, directions, topics, hashtags)

    def views(
        self, featurizer: ContentFeaturizer, brands: Brands, creators: Creators, mask: np.ndarray | None = None
    ) -> list[np.ndarray]:
        """The per-brand z-scored CSLS cosines of the topic and the hashtag view, each (len(brands), len(creators))."""
        mean = featurizer.hashtag_mean_
        b_topics, c_topics = featurizer.brand_blocks(brands)[0], featurizer.creator_blocks(creators)[0]
        b_hash = _hashtag_view(brands.hashtag, mean, self.directions)
        c_hash = _hashtag_view(creators.hashtag, mean, self.directions)
        return [
            standardise(_csls(b @ c.T, t @ c.T, self.hub_k), mask)
            for b, t, c in ((b_topics, self.train_topics, c_topics), (b_hash, self.train_hashtags, c_hash))
        ]

    def score(
        self,
        featurizer: ContentFeaturizer,
        brands: Brands,
        creators: Creators,
        extra_views: Sequence[np.ndarray] = (),
        mask: np.ndarray | None = None,
    ) -> np.ndarray:
        """Scores (len(brands), len(creators)): the sum of :meth:`views` and of the per-brand z-scores of each
        ``extra_views`` matrix (same shape). ``mask`` (bool, same shape) limits each brand's standardisation to
        its candidates; cells outside it are meaningless."""
        out = np.zeros((len(brands), len(creators)))
        for view in self.views(featurizer, brands, creators, mask):
            out += view
        for view in extra_views:
            out += standardise(np.nan_to_num(np.asarray(view, dtype=np.float64)), mask)
        return out

    def save(self, directory: Path, prefix: str = MULTI_VIEW_PREFIX) -> None:
        """Write ``<prefix>.json`` (settings, shapes) and ``<prefix>.<array>.npy`` (no pickle)."""
        meta: dict[str, Any] = {"hub_k": self.hub_k, "hashtag_components": self.hashtag_components, "arrays": {}}
        for name in _MULTI_VIEW_ARRAYS:
            array = np.asarray(getattr(self, name))
            np.save(directory / f"{prefix}.{name}.npy", array, allow_pickle=False)
            meta["arrays"][name] = list(array.shape)
        (directory / f"{prefix}.json").write_text(json.dumps(meta, indent=2))

    @classmethod
    def load(cls, directory: Path, prefix: str = MULTI_VIEW_PREFIX) -> MultiViewScorer:
        """Read what :meth:`save` wrote; ValueError names the missing or inconsistent file."""
        meta_path = directory / f"{prefix}.json"
        if not meta_path.is_file():
            raise ValueError(f"missing artifact {meta_path}")
        meta = json.loads(meta_path.read_text())
        arrays = {}
        for name in _MULTI_VIEW_ARRAYS:
            path = directory / f"{prefix}.{name}.npy"
            if not path.is_file():
                raise ValueError(f"missing artifact {path}")
            arrays[name] = np.load(path, allow_pickle=False)
            if list(arrays[name].shape) != meta["arrays"][name]:
                raise ValueError(f"{path}: shape {list(arrays[name].shape)}, {meta_path} says {meta['arrays'][name]}")
        return cls(int(meta["hub_k"]), int(meta["hashtag_components"]), **arrays)


def multi_view_scores(
    featurizer: ContentFeaturizer,
    train_brands: Brands,
    brands: Brands,
    creators: Creators,
    hub_k: int = HUB_K,
    extra_views: Sequence[np.ndarray] = (),
    train_creators: Creators | None = None,
    hashtag_components: int = HASHTAG_COMPONENTS,
) -> np.ndarray:
    """Scores (len(brands), len(creators)): the sum over views of per-brand z-scored CSLS cosines, plus the
    per-brand z-scores of each matrix of ``extra_views`` (same shape). The hashtag view's top principal
    directions are those of ``train_creators`` (the training pairs' creators; none removed when it is None).
    Fit and score in one go (cross-validation); ``MultiViewScorer`` is the same, in two steps (saved artifacts)."""
    scorer = MultiViewScorer.fit(featurizer, train_brands, train_creators, hub_k, hashtag_components)
    return scorer.score(featurizer, brands, creators, extra_views)
