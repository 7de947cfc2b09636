"""The cross-validation adapter on tiny fake data: contract, leakage guard, baselines vs pipeline, determinism."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from recsys.app.experiments import brand_influencer
from recsys.app.experiments.brand_influencer import Config, run
from recsys.app.experiments.brand_influencer.experiment import ABLATION, PIPELINE, brand_folds
from recsys.app.experiments.framework.rundir import validate_result

from .conftest import write_fake_dir

QUICK = {"folds": 3, "ablation_creator_counts": True}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("shared")
    write_fake_dir(root / "brand_influencer" / "train", n_brands=30, per_brand=8, seed=1)
    return root


@pytest.fixture(scope="module")
def result(data_dir: Path):  # type: ignore[no-untyped-def]
    return run(Config.model_validate(QUICK), seed=0, data_dir=data_dir)


def test_adapter_surface() -> None:
    assert brand_influencer.DATASET == "brand-influencer"
    assert Config().folds == 5  # the documented protocol is the default
    with pytest.raises(ValueError, match="extra"):
        Config.model_validate({"fold": 5})


def test_result_meets_the_runner_contract(result) -> None:  # type: ignore[no-untyped-def]
    validate_result(result)
    assert result.primary_metric == "r@50"
    names = [m.name for m in result.methods]
    assert names[:5] == [
        "random",
        "popularity",
        "brand-kNN",
        "retrieval: content cosine (FAISS)",
        "retrieval: learned weights (FAISS)",
    ]
    assert PIPELINE in names and ABLATION in names
    assert list(result.published.columns) == ["auc", "r@10", "r@50", "mrr", "medr"]
    assert result.published.loc["MIR (MM'19)", "r@50"] == 0.428


def test_every_brand_is_evaluated_once_with_all_metrics(result) -> None:  # type: ignore[no-untyped-def]
    pipe = result.method(PIPELINE)
    assert len(pipe.per_query) == 30 and pipe.per_query["query"].is_unique
    for key in ("r@10", "r@50", "mrr", "medr", "auc"):
        assert key in pipe.metrics and key in pipe.metrics_std
    assert pipe.exposure is not None and pipe.exposure.shape == (240,)
    assert set(pipe.per_category["category"]) == {"food", "makeup", "shoes"}
    assert sum(result.extra_metrics[f"pool_size_fold{i}"] for i in range(3)) == 240  # one owner per creator


def test_content_methods_beat_random(result) -> None:  # type: ignore[no-untyped-def]
    random_r10 = result.method("random").metrics["r@10"]
    assert result.method(PIPELINE).metrics["r@10"] > random_r10 + 0.4
    assert result.method("retrieval: content cosine (FAISS)").metrics["r@10"] > random_r10 + 0.4
    assert result.method(PIPELINE).metrics["auc"] > 0.9 > result.method("random").metrics["auc"]


def test_same_seed_same_metrics(data_dir: Path, result) -> None:  # type: ignore[no-untyped-def]
    again = run(Config.model_validate(QUICK), seed=0, data_dir=data_dir)
    for a, b in zip(result.methods, again.methods, strict=True):
        assert a.metrics == b.metrics, a.name


def test_folds_are_brand_disjoint_and_cover_every_brand() -> None:
    folds = brand_folds(286, 5, seed=3)
    tests = np.concatenate([te for _, te in folds])
    assert sorted(tests.tolist()) == list(range(286))
    for train, test in folds:
        assert not set(train) & set(test) and len(train) + len(test) == 286
    assert [te.tolist() for _, te in folds] != [te.tolist() for _, te in brand_folds(286, 5, seed=4)]


def test_missing_data_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(brand_influencer.BrandDataError, match="brand_influencer/train is not a directory"):
        run(Config(), seed=0, data_dir=tmp_path)
