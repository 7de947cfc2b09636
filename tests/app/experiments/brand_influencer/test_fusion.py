"""The learned fusion: LambdaRank over the 14 pair features plus the multi-view scorer's views (z-scores)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from recsys.app.experiments.brand_influencer.content import multi_view_scores
from recsys.app.experiments.brand_influencer.data import BrandInfluencerData, load_directory
from recsys.app.experiments.brand_influencer.features import FEATURE_NAMES
from recsys.app.experiments.brand_influencer.pipeline import (
    MULTI_VIEW_FEATURES,
    BrandCreatorPipeline,
    PipelineSettings,
    pool_of,
    relevance,
)

from .conftest import write_fake_dir

TRAIN = np.arange(24)
TEST = np.arange(24, 32)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> BrandInfluencerData:
    return load_directory(write_fake_dir(tmp_path_factory.mktemp("fusion") / "bi", n_brands=32, per_brand=6, seed=4))


@pytest.fixture(scope="module")
def fused(data: BrandInfluencerData) -> BrandCreatorPipeline:
    settings = PipelineSettings(multi_view_features=True)
    return BrandCreatorPipeline(settings, seed=0).fit(data, TRAIN)


def test_fusion_ranks_on_the_pair_features_and_the_views(fused: BrandCreatorPipeline) -> None:
    assert fused.feature_names == [*FEATURE_NAMES, *MULTI_VIEW_FEATURES]
    assert fused.ranker_.feature_names_ == fused.feature_names
    plain = BrandCreatorPipeline(PipelineSettings(), seed=0)
    assert plain.feature_names == list(FEATURE_NAMES)  # off by default: the pipeline is unchanged


def test_view_columns_are_the_multi_view_scores(data: BrandInfluencerData, fused: BrandCreatorPipeline) -> None:
    pool = pool_of(data, TEST)
    brands, creators = data.brands.subset(TEST), data.creators.subset(pool)
    featurizer = fused.featurizer_
    feats = fused._add_views(
        featurizer.transform(brands, creators), fused.multi_view_, featurizer, brands, creators, None
    )
    assert feats.shape == (len(TEST), len(pool), len(FEATURE_NAMES) + len(MULTI_VIEW_FEATURES))
    cca = feats[..., FEATURE_NAMES.index("cca_sim")]
    used = np.unique(data.positives_of(TRAIN)["creator_row"].to_numpy())
    expected = multi_view_scores(
        featurizer,
        data.brands.subset(TRAIN),
        brands,
        creators,
        extra_views=[cca],
        train_creators=data.creators.subset(used),
    )
    assert np.allclose(feats[..., -1], expected, atol=1e-4)  # mv_sum = the experiment's multi-view + CCA score
    assert np.allclose(feats[..., -4:-1].sum(axis=2), feats[..., -1], atol=1e-4)
    assert np.allclose(feats[..., -4:].mean(axis=1), 0.0, atol=1e-4)  # per-brand z-scores


def test_fused_scores_rank_held_out_positives_high(data: BrandInfluencerData, fused: BrandCreatorPipeline) -> None:
    pool = pool_of(data, TEST)
    scores = fused.score(data.brands.subset(TEST), data.creators.subset(pool))
    assert scores.shape == (len(TEST), len(pool)) and np.isfinite(scores).all()
    ranks = (-scores).argsort(axis=1).argsort(axis=1) + 1
    assert ranks[relevance(data, TEST, pool)].mean() < 0.3 * (len(pool) + 1) / 2  # random: (n + 1) / 2


def test_fusion_is_offline_only(fused: BrandCreatorPipeline, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="offline comparisons only"):
        fused.save(tmp_path)
