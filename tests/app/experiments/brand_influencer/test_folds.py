"""The creator-disjoint protocol on tiny fake data: brand-disjoint folds whose candidate creators are unseen."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recsys.app.cli.experiment import _checked_protocol
from recsys.app.experiments.brand_influencer import Config, run
from recsys.app.experiments.brand_influencer.data import BrandInfluencerData, load_directory
from recsys.app.experiments.brand_influencer.experiment import (
    FUSION,
    FUSION_BLEND,
    MULTI_VIEW,
    MULTI_VIEW_CCA,
    PIPELINE,
    fusion_on,
)
from recsys.app.experiments.brand_influencer.folds import Fold, make_folds
from recsys.app.experiments.framework.registry import get_adapter

from .conftest import write_fake_dir

N_BRANDS, PER_BRAND = 24, 6


def _with_shared_creators(data: BrandInfluencerData, every: int = 2) -> BrandInfluencerData:
    """``data`` plus a second brand for some creators: brand b also chose the first creator of brand b + 1."""
    assert data.pairs is not None
    extra = [
        {"brand_row": b, "creator_row": ((b + 1) % N_BRANDS) * PER_BRAND, "rank_in_brand": PER_BRAND + 1.0}
        for b in range(0, N_BRANDS, every)
    ]
    pairs = pd.concat([data.pairs, pd.DataFrame(extra)], ignore_index=True)
    return BrandInfluencerData(data.path, data.brands, data.creators, pairs)


@pytest.fixture(scope="module")
def shared_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("shared_cd")
    write_fake_dir(root / "brand_influencer" / "train", n_brands=N_BRANDS, per_brand=PER_BRAND, seed=2)
    return root


@pytest.fixture(scope="module")
def data(shared_root: Path) -> BrandInfluencerData:
    return _with_shared_creators(load_directory(shared_root / "brand_influencer" / "train"))


def _training_creators(fold: Fold) -> set[int]:
    return set(fold.train_data.positives_of(fold.train_rows)["creator_row"].tolist())


def test_creator_disjoint_folds_are_brand_disjoint_and_cover_every_brand(data: BrandInfluencerData) -> None:
    folds = make_folds(data, 4, seed=0, protocol="creator-disjoint")
    assert sorted(np.concatenate([f.test_rows for f in folds]).tolist()) == list(range(N_BRANDS))
    for fold in folds:
        assert not set(fold.train_rows.tolist()) & set(fold.test_rows.tolist())
        assert set(fold.train_data.pairs["brand_row"].tolist()) <= set(fold.train_rows.tolist())  # type: ignore[index]


def test_candidate_creators_of_a_held_out_fold_are_unseen_in_its_training_pairs(data: BrandInfluencerData) -> None:
    creator_disjoint = make_folds(data, 4, seed=0, protocol="creator-disjoint")
    brand_disjoint = make_folds(data, 4, seed=0, protocol="brand-disjoint")
    for cd, bd in zip(creator_disjoint, brand_disjoint, strict=True):
        assert np.array_equal(cd.test_rows, bd.test_rows) and np.array_equal(cd.pool, bd.pool)
        unseen = np.mean([c not in _training_creators(cd) for c in cd.pool.tolist()])
        assert unseen == cd.unseen_share == 1.0  # every candidate creator is unseen (the test: most of them)
        bd_pairs = bd.train_data.positives_of(bd.train_rows)
        assert cd.dropped_pairs == int(bd_pairs["creator_row"].isin(cd.pool).sum())
    # the shared creators make some candidates "seen" under the plain brand-disjoint protocol
    assert min(f.unseen_share for f in brand_disjoint) < 1.0
    assert sum(f.dropped_pairs for f in creator_disjoint) > 0


def test_unknown_protocol_is_rejected(data: BrandInfluencerData) -> None:
    with pytest.raises(ValueError, match="unknown protocol"):
        make_folds(data, 4, seed=0, protocol="leaky")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="protocol"):
        Config.model_validate({"protocol": "leaky"})
    assert _checked_protocol(get_adapter("brand-influencer"), "brand-influencer", "creator-disjoint")


def test_creator_disjoint_run_reports_its_protocol_and_content_methods(shared_root: Path) -> None:
    config = Config(protocol="creator-disjoint", creator_disjoint_folds=3)
    result = run(config, seed=0, data_dir=shared_root)
    assert result.extra_metrics["unseen_creator_share_mean"] == 1.0
    assert "creator-disjoint" in result.protocol and "100.0% of pool creators appear in no training pair" in (
        result.protocol
    )
    assert sum(result.extra_metrics[f"pool_size_fold{i}"] for i in range(3)) == N_BRANDS * PER_BRAND
    random_r10 = result.method("random").metrics["r@10"]
    for name in (MULTI_VIEW, MULTI_VIEW_CCA, PIPELINE, FUSION, FUSION_BLEND):
        assert result.method(name).metrics["r@10"] > random_r10 + 0.3, name
    assert any(FUSION in note for note in result.notes)


def test_fusion_rows_run_by_default_only_under_the_creator_disjoint_protocol() -> None:
    assert fusion_on(Config(protocol="creator-disjoint")) and not fusion_on(Config())
    assert fusion_on(Config(fusion=True)) and not fusion_on(Config(protocol="creator-disjoint", fusion=False))
