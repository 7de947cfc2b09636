"""Content pair features: shapes, cold-start behaviour (no creator identity), and a lossless save/load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from recsys.app.experiments.brand_influencer.data import Brands, load_directory
from recsys.app.experiments.brand_influencer.features import FEATURE_NAMES, ContentFeaturizer
from recsys.app.experiments.brand_influencer.pipeline import PipelineSettings, fit_featurizer, pool_of


@pytest.fixture
def fitted(fake_dir: Path):  # type: ignore[no-untyped-def]
    data = load_directory(fake_dir)
    train, test = np.arange(24), np.arange(24, 30)
    return data, fit_featurizer(data, train, PipelineSettings(), seed=0), test


def test_transform_shape_and_every_feature_finite_for_unseen_creators(fitted) -> None:  # type: ignore[no-untyped-def]
    data, featurizer, test = fitted
    pool = pool_of(data, test)  # creators of held-out brands: never seen in training pairs
    x = featurizer.transform(data.brands.subset(test), data.creators.subset(pool))
    assert x.shape == (6, len(pool), len(FEATURE_NAMES)) and x.dtype == np.float32
    assert np.isfinite(x).all()


def test_features_ignore_creator_identity(fitted) -> None:  # type: ignore[no-untyped-def]
    data, featurizer, test = fitted
    pool = pool_of(data, test)
    creators = data.creators.subset(pool)
    renamed = type(creators)(
        np.array([f"new{i}" for i in range(len(pool))], dtype=object), creators.lda, creators.hashtag
    )
    brands = data.brands.subset(test)
    np.testing.assert_array_equal(featurizer.transform(brands, creators), featurizer.transform(brands, renamed))


def test_own_positives_score_higher_than_other_creators(fitted) -> None:  # type: ignore[no-untyped-def]
    data, featurizer, test = fitted
    pool = pool_of(data, test)
    x = featurizer.transform(data.brands.subset(test), data.creators.subset(pool))
    owner = data.pairs.set_index("creator_row").loc[pool, "brand_row"].to_numpy()
    positive = owner[None, :] == test[:, None]
    for name in ("lda_cos", "hashtag_cos_centred", "weighted_sim", "cca_sim"):
        values = x[..., FEATURE_NAMES.index(name)]
        assert values[positive].mean() > values[~positive].mean(), name


def test_unknown_category_gives_missing_category_features(fitted) -> None:  # type: ignore[no-untyped-def]
    data, featurizer, test = fitted
    b = data.brands.subset(test[:2])
    odd = Brands(b.ids, np.array(["spaceflight", b.category[1]], dtype=object), b.lda, b.hashtag, b.image)
    x = featurizer.transform(odd, data.creators.subset(np.arange(10)))
    for name in ("category_prototype_sim", "category_affinity", "brand_category"):
        column = x[..., FEATURE_NAMES.index(name)]
        assert np.isnan(column[0]).all() and np.isfinite(column[1]).all()


def test_save_load_round_trip_is_exact_and_uses_no_pickle(fitted, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data, featurizer, test = fitted
    featurizer.save(tmp_path)
    loaded = ContentFeaturizer.load(tmp_path)
    brands, creators = data.brands.subset(test), data.creators.subset(np.arange(50))
    np.testing.assert_array_equal(featurizer.transform(brands, creators), loaded.transform(brands, creators))
    assert not list(tmp_path.glob("*.pkl")) and not list(tmp_path.glob("*.pickle"))
    for npy in tmp_path.glob("*.npy"):
        np.load(npy, allow_pickle=False)  # plain arrays


def test_load_rejects_other_feature_names(fitted, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, featurizer, _ = fitted
    featurizer.save(tmp_path)
    meta = (tmp_path / "featurizer.json").read_text().replace('"lda_js"', '"lda_kl"')
    (tmp_path / "featurizer.json").write_text(meta)
    with pytest.raises(ValueError, match="feature names"):
        ContentFeaturizer.load(tmp_path)


def test_fit_is_deterministic_for_a_seed(fake_dir: Path) -> None:
    data = load_directory(fake_dir)
    rows = np.arange(20)
    a = fit_featurizer(data, rows, PipelineSettings(), seed=5)
    first = data.pairs.iloc[:160]  # the pairs of brands 0..19 (8 each, in order)
    b = ContentFeaturizer(seed=5).fit(
        data.brands.subset(rows), data.creators, first["brand_row"].to_numpy(), first["creator_row"].to_numpy()
    )
    np.testing.assert_allclose(a.weights_, b.weights_)
