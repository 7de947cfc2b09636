"""Pair features of (brand, creator) from content only — no creator identity — so they work for unseen creators.

:class:`ContentFeaturizer` learns, from training brands and their positive creators, a handful of small linear
models and prototypes; :meth:`ContentFeaturizer.transform` then scores any brands against any creators from their
content features (LDA topics, hashtag embeddings; brand images and category on the brand side):

- ``lda_cos`` / ``lda_js``: Hellinger cosine and negative Jensen–Shannon divergence of the topic mixtures;
- ``hashtag_cos`` / ``hashtag_cos_centred``: cosine of hashtag embeddings, raw and centred on training creators;
- ``weighted_sim``: per-dimension weights of topic and hashtag products learned by logistic regression
  (positives vs random training creators) — also the FAISS retrieval score;
- ``cca_sim``: regularised CCA between brand features (topics, hashtags, image PCA, category) and creator content;
- ``projection_sim``: ridge projection of brand features into creator content space, cosine to the creator;
- ``category_prototype_sim``: cosine to the centroid of the brand category's training positives;
- ``category_affinity``: log P(brand's category | creator content) from a multinomial logistic regression;
- ``neighbour_max_sim`` / ``neighbour_centroid_sim``: similarity to positives of the most similar training brands;
- ``creator_hubness``: mean of the creator's top similarities to training brands (generic "everyone's match");
- ``creator_attractiveness``: ridge prediction, from content, of how many training brands chose the creator;
- ``brand_category``: category index (categorical; unknown category = NaN).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression, Ridge
from threadpoolctl import threadpool_limits

from recsys.app.experiments.brand_influencer.data import Brands, Creators

FEATURE_NAMES: tuple[str, ...] = (
    "lda_cos",
    "lda_js",
    "hashtag_cos",
    "hashtag_cos_centred",
    "weighted_sim",
    "cca_sim",
    "projection_sim",
    "category_prototype_sim",
    "category_affinity",
    "neighbour_max_sim",
    "neighbour_centroid_sim",
    "creator_hubness",
    "creator_attractiveness",
    "brand_category",
)
_STATE = (
    "hashtag_mean_",
    "image_mean_",
    "image_components_",
    "prototypes_",
    "category_coef_",
    "category_intercept_",
    "weights_",
    "projection_coef_",
    "projection_intercept_",
    "cca_brand_mean_",
    "cca_creator_mean_",
    "cca_brand_",
    "cca_creator_",
    "neighbour_brands_",
    "neighbour_positives_",
    "neighbour_offsets_",
    "neighbour_centroids_",
    "hub_brands_",
    "attractiveness_coef_",
)
_SETTINGS = (
    "image_components",
    "neighbours",
    "neighbour_temperature",
    "hub_k",
    "cca_components",
    "cca_reg",
    "ridge_alpha",
    "diag_negatives",
    "diag_c",
    "seed",
)


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (zero rows stay zero)."""
    x = np.asarray(x, dtype=np.float64)
    norm = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.where(norm > 0, norm, 1.0)


def _inverse_sqrt(c: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh(c)
    return (v / np.sqrt(np.maximum(w, 1e-9))) @ v.T


def _top_mean(sims: np.ndarray, k: int) -> np.ndarray:
    """Mean of the ``k`` largest values of each column of ``sims`` (n_rows, n_cols)."""
    k = min(k, sims.shape[0])
    return np.sort(sims, axis=0)[-k:].mean(axis=0)


class ContentFeaturizer:
    """Learn content-based pair features from training brands and their positives; score any brands x creators.

    Parameters
    ----------
    image_components : PCA components of the 1365-d brand image features (fit on training brands).
    neighbours, neighbour_temperature : training brands used for content-based transfer and their softmax weights.
    hub_k : top training-brand similarities averaged into ``creator_hubness``.
    cca_components, cca_reg : canonical pairs kept and ridge share of the covariance diagonals.
    ridge_alpha : ridge penalty of the brand -> creator projection and of the attractiveness model.
    diag_negatives, diag_c : random negatives per positive and inverse L2 strength for ``weighted_sim``.
    seed : seeds the negatives of ``weighted_sim``.
    """

    def __init__(
        self,
        image_components: int = 32,
        neighbours: int = 10,
        neighbour_temperature: float = 0.1,
        hub_k: int = 10,
        cca_components: int = 16,
        cca_reg: float = 0.1,
        ridge_alpha: float = 1.0,
        diag_negatives: int = 5,
        diag_c: float = 1.0,
        seed: int = 0,
    ) -> None:
        self.image_components = image_components
        self.neighbours = neighbours
        self.neighbour_temperature = neighbour_temperature
        self.hub_k = hub_k
        self.cca_components = cca_components
        self.cca_reg = cca_reg
        self.ridge_alpha = ridge_alpha
        self.diag_negatives = diag_negatives
        self.diag_c = diag_c
        self.seed = seed

    # --- representations ----------------------------------------------------------------------------------------

    def creator_blocks(self, creators: Creators) -> tuple[np.ndarray, np.ndarray]:
        """(Hellinger topics (n, 19), centred unit hashtags (n, 128)), each row of unit norm."""
        return unit_rows(np.sqrt(creators.lda)), unit_rows(unit_rows(creators.hashtag) - self.hashtag_mean_)

    def brand_blocks(self, brands: Brands) -> tuple[np.ndarray, np.ndarray]:
        return unit_rows(np.sqrt(brands.lda)), unit_rows(unit_rows(brands.hashtag) - self.hashtag_mean_)

    def creator_content(self, creators: Creators) -> np.ndarray:
        """Creator content vectors of shape (n, 147), unit norm: topics and centred hashtags, equal weight."""
        return np.hstack(self.creator_blocks(creators)) / np.sqrt(2.0)

    def _category_index(self, brands: Brands) -> np.ndarray:
        lookup = {c: i for i, c in enumerate(self.categories_)}
        return np.array([lookup.get(c, -1) for c in brands.category], dtype=np.int64)

    def _brand_design(self, brands: Brands) -> np.ndarray:
        """Brand features of shape (n, 19 + 128 + image_components + n_categories)."""
        lda, hashtag = self.brand_blocks(brands)
        image = unit_rows((brands.image - self.image_mean_) @ self.image_components_.T)
        onehot = np.zeros((len(brands), len(self.categories_)))
        cat = self._category_index(brands)
        onehot[np.flatnonzero(cat >= 0), cat[cat >= 0]] = 1.0
        return np.hstack([lda, hashtag, image, onehot])

    def _brand_similarity_vectors(self, brands: Brands) -> np.ndarray:
        lda, hashtag = self.brand_blocks(brands)
        image = unit_rows((brands.image - self.image_mean_) @ self.image_components_.T)
        return unit_rows(np.hstack([lda, hashtag, image]))

    def retrieval_vectors(self, brands: Brands, creators: Creators) -> tuple[np.ndarray, np.ndarray]:
        """(queries (n_brands, 147), items (n_creators, 147)) whose inner product is ``weighted_sim`` minus its
        intercept: the vectors of the FAISS retrieval stage."""
        b_lda, b_hash = self.brand_blocks(brands)
        return np.hstack([b_lda, b_hash]) * self.weights_, np.hstack(self.creator_blocks(creators))

    # --- fit ----------------------------------------------------------------------------------------------------

    def fit(
        self, brands: Brands, creators: Creators, pos_brand: np.ndarray, pos_creator: np.ndarray
    ) -> ContentFeaturizer:
        """Learn from positive pairs ``(brands[pos_brand[i]], creators[pos_creator[i]])``.

        ``creators`` should be the training creators (negatives for ``weighted_sim`` are drawn among them).
        """
        pos_brand, pos_creator = np.asarray(pos_brand, np.int64), np.asarray(pos_creator, np.int64)
        if pos_brand.size == 0:
            raise ValueError("ContentFeaturizer.fit needs at least one positive pair")
        with threadpool_limits(limits=1, user_api="blas"):  # small matrices: threads only add contention
            return self._fit(brands, creators, pos_brand, pos_creator)

    def _fit(
        self, brands: Brands, creators: Creators, pos_brand: np.ndarray, pos_creator: np.ndarray
    ) -> ContentFeaturizer:
        self.categories_ = sorted(set(brands.category.tolist()))
        used = np.unique(pos_creator)
        self.hashtag_mean_ = unit_rows(creators.hashtag[used]).mean(axis=0)
        self._fit_image_pca(brands.image)
        content = self.creator_content(creators)
        cat = self._category_index(brands)
        self._fit_prototypes(content, cat, pos_brand, pos_creator)
        self._fit_weights(brands, creators, pos_brand, pos_creator)
        design = self._brand_design(brands)
        ridge = Ridge(alpha=self.ridge_alpha).fit(design[pos_brand], content[pos_creator])
        self.projection_coef_, self.projection_intercept_ = ridge.coef_, np.atleast_1d(ridge.intercept_)
        self._fit_cca(design[pos_brand], content[pos_creator])
        self._fit_neighbours(brands, content, pos_brand, pos_creator)
        b_lda, b_hash = self.brand_blocks(brands.subset(np.unique(pos_brand)))
        self.hub_brands_ = np.hstack([b_lda, b_hash]) / np.sqrt(2.0)
        counts = np.bincount(pos_creator, minlength=len(creators))[used]
        attractive = Ridge(alpha=self.ridge_alpha).fit(content[used], np.log1p(counts))
        self.attractiveness_coef_ = np.append(attractive.coef_, attractive.intercept_)
        return self

    def _fit_image_pca(self, image: np.ndarray) -> None:
        x = np.asarray(image, dtype=np.float64)
        self.image_mean_ = x.mean(axis=0)
        k = max(1, min(self.image_components, x.shape[0] - 1, x.shape[1]))
        _, _, vt = np.linalg.svd(x - self.image_mean_, full_matrices=False)
        vt = vt[:k]
        signs = np.sign(vt[np.arange(k), np.argmax(np.abs(vt), axis=1)])  # deterministic sign per component
        self.image_components_ = vt * np.where(signs == 0, 1.0, signs)[:, None]

    def _fit_prototypes(
        self, content: np.ndarray, cat: np.ndarray, pos_brand: np.ndarray, pos_creator: np.ndarray
    ) -> None:
        n_cat, dim = len(self.categories_), content.shape[1]
        pos_cat = cat[pos_brand]
        self.prototypes_ = np.zeros((n_cat, dim))
        for k in range(n_cat):
            if np.any(pos_cat == k):
                self.prototypes_[k] = content[pos_creator[pos_cat == k]].mean(axis=0)
        self.prototypes_ = unit_rows(self.prototypes_)
        self.category_coef_ = np.zeros((n_cat, dim))
        self.category_intercept_ = np.zeros(n_cat)
        present = np.unique(pos_cat)
        if present.size >= 2:
            clf = LogisticRegression(C=1.0, max_iter=2000).fit(content[pos_creator], pos_cat)
            coef, intercept = clf.coef_, clf.intercept_
            if present.size == 2:  # sklearn's binary form: one row for the second class
                coef, intercept = np.vstack([-coef / 2, coef / 2]), np.array([-intercept[0] / 2, intercept[0] / 2])
            self.category_coef_[present], self.category_intercept_[present] = coef, intercept
        absent = np.setdiff1d(np.arange(n_cat), present)
        self.category_intercept_[absent] = -30.0  # a category without positives is (almost) never predicted

    def _fit_weights(self, brands: Brands, creators: Creators, pos_brand: np.ndarray, pos_creator: np.ndarray) -> None:
        rng = np.random.default_rng(self.seed)
        pool = np.unique(pos_creator)
        neg_brand = np.repeat(pos_brand, self.diag_negatives)
        neg_creator = rng.choice(pool, size=neg_brand.size)
        b = np.hstack(self.brand_blocks(brands))
        c = np.hstack(self.creator_blocks(creators))
        x = np.vstack([b[pos_brand] * c[pos_creator], b[neg_brand] * c[neg_creator]])
        y = np.r_[np.ones(pos_brand.size), np.zeros(neg_brand.size)]
        clf = LogisticRegression(C=self.diag_c, max_iter=3000).fit(x, y)
        self.weights_ = clf.coef_[0].copy()

    def _fit_cca(self, x: np.ndarray, y: np.ndarray) -> None:
        self.cca_brand_mean_, self.cca_creator_mean_ = x.mean(axis=0), y.mean(axis=0)
        x, y = x - self.cca_brand_mean_, y - self.cca_creator_mean_
        cxx, cyy, cxy = x.T @ x / len(x), y.T @ y / len(y), x.T @ y / len(x)
        cxx += self.cca_reg * np.trace(cxx) / len(cxx) * np.eye(len(cxx)) + 1e-9 * np.eye(len(cxx))
        cyy += self.cca_reg * np.trace(cyy) / len(cyy) * np.eye(len(cyy)) + 1e-9 * np.eye(len(cyy))
        wx, wy = _inverse_sqrt(cxx), _inverse_sqrt(cyy)
        u, s, vt = np.linalg.svd(wx @ cxy @ wy)
        k = max(1, min(self.cca_components, len(s)))
        self.cca_brand_, self.cca_creator_ = wx @ u[:, :k] * s[:k], wy @ vt[:k].T

    def _fit_neighbours(
        self, brands: Brands, content: np.ndarray, pos_brand: np.ndarray, pos_creator: np.ndarray
    ) -> None:
        order = np.argsort(pos_brand, kind="stable")
        refs, starts = np.unique(pos_brand[order], return_index=True)
        self.neighbour_brands_ = self._brand_similarity_vectors(brands.subset(refs))
        self.neighbour_positives_ = content[pos_creator[order]]
        self.neighbour_offsets_ = np.append(starts, order.size).astype(np.int64)
        self.neighbour_centroids_ = unit_rows(np.add.reduceat(self.neighbour_positives_, starts, axis=0))

    # --- transform ----------------------------------------------------------------------------------------------

    def transform(self, brands: Brands, creators: Creators) -> np.ndarray:
        """Pair features of shape (n_brands, n_creators, len(FEATURE_NAMES)), float32, in FEATURE_NAMES order."""
        with threadpool_limits(limits=1, user_api="blas"):
            return self._transform(brands, creators)

    def _transform(self, brands: Brands, creators: Creators) -> np.ndarray:
        nb, nc = len(brands), len(creators)
        b_lda, b_hash = self.brand_blocks(brands)
        c_lda, c_hash = self.creator_blocks(creators)
        content = np.hstack([c_lda, c_hash]) / np.sqrt(2.0)
        design = self._brand_design(brands)
        cat = self._category_index(brands)
        known = cat >= 0
        out = np.empty((nb, nc, len(FEATURE_NAMES)), dtype=np.float32)
        out[..., 0] = b_lda @ c_lda.T
        out[..., 1] = self._neg_js(brands.lda, creators.lda)
        out[..., 2] = unit_rows(brands.hashtag) @ unit_rows(creators.hashtag).T
        out[..., 3] = b_hash @ c_hash.T
        q, items = self.retrieval_vectors(brands, creators)
        out[..., 4] = q @ items.T
        cca_b = unit_rows((design - self.cca_brand_mean_) @ self.cca_brand_)
        out[..., 5] = cca_b @ unit_rows((content - self.cca_creator_mean_) @ self.cca_creator_).T
        projected = unit_rows(design @ self.projection_coef_.T + self.projection_intercept_)
        out[..., 6] = projected @ content.T
        proto = content @ self.prototypes_.T  # (nc, n_cat)
        logits = content @ self.category_coef_.T + self.category_intercept_
        log_prob = logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)
        out[..., 7] = np.where(known[:, None], proto[:, np.maximum(cat, 0)].T, np.nan)
        out[..., 8] = np.where(known[:, None], log_prob[:, np.maximum(cat, 0)].T, np.nan)
        out[..., 9], out[..., 10] = self._neighbour_features(brands, content)
        out[..., 11] = _top_mean(self.hub_brands_ @ content.T, self.hub_k)[None, :]
        out[..., 12] = (content @ self.attractiveness_coef_[:-1] + self.attractiveness_coef_[-1])[None, :]
        out[..., 13] = np.where(known, cat, np.nan)[:, None]
        return out

    @staticmethod
    def _neg_js(brand_lda: np.ndarray, creator_lda: np.ndarray, chunk: int = 64) -> np.ndarray:
        p = np.clip(np.asarray(brand_lda, np.float64), 1e-12, None)
        q = np.clip(np.asarray(creator_lda, np.float64), 1e-12, None)
        out = np.empty((len(p), len(q)))
        for start in range(0, len(p), chunk):
            pb = p[start : start + chunk, None, :]
            m = (pb + q[None]) / 2
            out[start : start + chunk] = -0.5 * (
                (pb * np.log(pb / m)).sum(-1) + (q[None] * np.log(q[None] / m)).sum(-1)
            )
        return out

    def _neighbour_features(self, brands: Brands, content: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(max-similarity, centroid-similarity) transfer from the ``neighbours`` most similar training brands."""
        sims = self._brand_similarity_vectors(brands) @ self.neighbour_brands_.T  # (nb, n_ref)
        k = min(self.neighbours, sims.shape[1])
        top = np.argsort(-sims, axis=1, kind="stable")[:, :k]
        weights = np.take_along_axis(sims, top, axis=1) / self.neighbour_temperature
        weights = np.exp(weights - weights.max(axis=1, keepdims=True))
        weights /= weights.sum(axis=1, keepdims=True)
        needed = np.unique(top)
        per_max = np.zeros((len(needed), len(content)))
        for j, ref in enumerate(needed):
            lo, hi = self.neighbour_offsets_[ref], self.neighbour_offsets_[ref + 1]
            per_max[j] = (content @ self.neighbour_positives_[lo:hi].T).max(axis=1)
        per_centroid = self.neighbour_centroids_[needed] @ content.T
        slot = np.searchsorted(needed, top)
        max_sim = np.einsum("bk,bkc->bc", weights, per_max[slot])
        centroid_sim = np.einsum("bk,bkc->bc", weights, per_centroid[slot])
        return max_sim, centroid_sim

    # --- persistence --------------------------------------------------------------------------------------------

    def save(self, directory: Path, prefix: str = "featurizer") -> None:
        """Write ``<prefix>.json`` (settings, categories, feature names) and one ``<prefix>.<state>.npy`` per
        learned array (no pickle)."""
        directory.mkdir(parents=True, exist_ok=True)
        meta: dict[str, Any] = {
            "settings": {k: getattr(self, k) for k in _SETTINGS},
            "categories": self.categories_,
            "feature_names": list(FEATURE_NAMES),
            "arrays": {},
        }
        for name in _STATE:
            array = np.asarray(getattr(self, name))
            np.save(directory / f"{prefix}.{name.rstrip('_')}.npy", array, allow_pickle=False)
            meta["arrays"][name] = list(array.shape)
        (directory / f"{prefix}.json").write_text(json.dumps(meta, indent=2))

    @classmethod
    def load(cls, directory: Path, prefix: str = "featurizer") -> ContentFeaturizer:
        """Read what :meth:`save` wrote; raises ValueError naming the file when something is missing or off."""
        meta_path = directory / f"{prefix}.json"
        if not meta_path.is_file():
            raise ValueError(f"missing artifact {meta_path}")
        meta = json.loads(meta_path.read_text())
        if meta.get("feature_names") != list(FEATURE_NAMES):
            raise ValueError(
                f"{meta_path}: artifact feature names {meta.get('feature_names')} do not match this code's "
                f"{list(FEATURE_NAMES)}; retrain with `recsys train`"
            )
        obj = cls(**meta["settings"])
        obj.categories_ = list(meta["categories"])
        for name in _STATE:
            path = directory / f"{prefix}.{name.rstrip('_')}.npy"
            if not path.is_file():
                raise ValueError(f"missing artifact {path}")
            array = np.load(path, allow_pickle=False)
            if list(array.shape) != meta["arrays"][name]:
                raise ValueError(f"{path}: shape {list(array.shape)}, manifest says {meta['arrays'][name]}")
            setattr(obj, name, array)
        return obj
