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

from collections.abc import Sequence

import numpy as np

from recsys.app.experiments.brand_influencer.data import Brands, Creators
from recsys.app.experiments.brand_influencer.features import ContentFeaturizer, unit_rows

HUB_K = 10
HASHTAG_COMPONENTS = 20


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


def _standardise(scores: np.ndarray) -> np.ndarray:
    """Per-row (per-brand) z-scores."""
    std = scores.std(axis=1, keepdims=True)
    return (scores - scores.mean(axis=1, keepdims=True)) / np.where(std > 0, std, 1.0)


def _csls(sims: np.ndarray, train_sims: np.ndarray, k: int) -> np.ndarray:
    """CSLS: 2 cos(b, c) - mean of c's ``k`` best cosines to training brands (the brand-side term is a constant
    per brand, so it is left out: it does not change a brand's ranking)."""
    k = max(1, min(k, train_sims.shape[0]))
    hub = np.sort(train_sims, axis=0)[-k:].mean(axis=0)
    return 2.0 * sims - hub[None, :]


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
    directions are those of ``train_creators`` (the training pairs' creators; none removed when it is None)."""
    b_views = featurizer.brand_blocks(brands)
    t_views = featurizer.brand_blocks(train_brands)
    c_views = featurizer.creator_blocks(creators)
    if train_creators is not None and hashtag_components > 0:
        mean = featurizer.hashtag_mean_  # mean unit hashtag vector of the training pairs' creators
        directions = top_directions(unit_rows(train_creators.hashtag) - mean, hashtag_components)
        b_views, t_views, c_views = (
            (views[0], _hashtag_view(side.hashtag, mean, directions))
            for views, side in ((b_views, brands), (t_views, train_brands), (c_views, creators))
        )
    out = np.zeros((len(brands), len(creators)))
    for b, t, c in zip(b_views, t_views, c_views, strict=True):
        out += _standardise(_csls(b @ c.T, t @ c.T, hub_k))
    for view in extra_views:
        out += _standardise(np.nan_to_num(np.asarray(view, dtype=np.float64)))
    return out
