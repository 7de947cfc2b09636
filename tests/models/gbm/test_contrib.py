"""Path attributions: each row's contributions sum to LightGBM's raw score, with NaNs and categorical splits."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pytest

from models.gbm.contrib import PathAttribution


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 6)).astype(np.float32)
    X[:, 5] = rng.integers(0, 12, len(X))  # categorical
    X[rng.random(X.shape) < 0.1] = np.nan  # missing values everywhere, including the categorical column
    X[rng.random(len(X)) < 0.05, 2] = 0.0
    y = np.nan_to_num(X[:, 0]) * 2 + (np.nan_to_num(X[:, 5]) % 3 == 0) - np.isnan(X[:, 1]) + rng.normal(0, 0.1, len(X))
    return X, y


@pytest.mark.parametrize("zero_as_missing", [False, True])
def test_contributions_sum_to_the_raw_score(data: tuple[np.ndarray, np.ndarray], zero_as_missing: bool) -> None:
    X, y = data
    params = {"objective": "regression", "verbosity": -1, "num_leaves": 15, "zero_as_missing": zero_as_missing}
    booster = lgb.train(params, lgb.Dataset(X, y, categorical_feature=[5]), num_boost_round=40)
    paths = PathAttribution.from_booster(booster)
    contrib = paths.contributions(booster.predict(X[:300], pred_leaf=True))
    np.testing.assert_allclose(contrib.sum(axis=1), booster.predict(X[:300], raw_score=True), rtol=1e-9, atol=1e-9)
    shap = booster.predict(X[:300], pred_contrib=True)
    # the strongest feature of most rows agrees with SHAP's
    agree = (np.argmax(np.abs(contrib[:, :-1]), axis=1) == np.argmax(np.abs(shap[:, :-1]), axis=1)).mean()
    assert agree > 0.8


def test_a_model_without_splits_has_only_a_bias() -> None:
    X = np.zeros((50, 3), dtype=np.float32)
    booster = lgb.train({"objective": "regression", "verbosity": -1}, lgb.Dataset(X, np.ones(50)), num_boost_round=3)
    contrib = PathAttribution.from_booster(booster).contributions(booster.predict(X[:5], pred_leaf=True))
    np.testing.assert_allclose(contrib[:, :-1], 0)
    np.testing.assert_allclose(contrib.sum(axis=1), booster.predict(X[:5], raw_score=True))


def test_paths_kept_in_a_file_give_the_same_contributions(data: tuple[np.ndarray, np.ndarray], tmp_path) -> None:  # type: ignore[no-untyped-def]
    """What a serving load keeps next to the compiled models (models/bundle.py: paths_cache) reads back exactly: a
    model told where they go writes them on first use, another copy of it reads them; a damaged file is rebuilt."""
    from models.gbm.regressor import GBMRegressor

    X, y = data
    names = [f"f{i}" for i in range(X.shape[1])]
    first = GBMRegressor(n_estimators=30, early_stopping_rounds=0).fit(X[:1500], y[:1500], names)
    first.save(tmp_path / "gmv.txt")
    cache = tmp_path / "gmv.paths.npz"
    first.paths_cache = cache
    expected = first.explain(X[1500:1700])
    assert cache.is_file()
    second = GBMRegressor.load(tmp_path / "gmv.txt")
    second.paths_cache = cache
    np.testing.assert_array_equal(second.explain(X[1500:1700]), expected)
    np.testing.assert_allclose(expected.sum(axis=1), first.raw_scores(X[1500:1700]), rtol=1e-6, atol=1e-6)
    cache.write_bytes(b"damaged")
    third = GBMRegressor.load(tmp_path / "gmv.txt")
    third.paths_cache = cache
    np.testing.assert_array_equal(third.explain(X[1500:1700]), expected)
    assert PathAttribution.load(cache).bias == third._paths.bias  # rebuilt and written again


def test_grouped_sums_equal_the_contributions_summed_over_each_group(data: tuple[np.ndarray, np.ndarray]) -> None:
    """What a page's reasons read (per-leaf sums per reason) is the per-feature matrix times the 0/1 groups."""
    X, y = data
    params = {"objective": "regression", "verbosity": -1, "num_leaves": 15}
    booster = lgb.train(params, lgb.Dataset(X, y, categorical_feature=[5]), num_boost_round=40)
    paths = PathAttribution.from_booster(booster)
    weights = np.zeros((X.shape[1], 3))
    weights[[0, 1], 0] = 1.0  # features 0 and 1
    weights[5, 1] = 1.0  # the categorical one
    weights[:, 2] = [0.5, 0, 0, 2, 0, 0]  # any weights, not only 0/1
    leaves = booster.predict(X[:200], pred_leaf=True)
    expected = paths.contributions(leaves)[:, :-1] @ weights
    np.testing.assert_allclose(paths.grouped(weights).sums(leaves), expected, rtol=1e-9, atol=1e-12)
    assert np.abs(expected[:, :2]).min(axis=0).max() > 0  # the groups carry evidence, not zeros
    with pytest.raises(ValueError, match="6 features"):
        paths.grouped(np.zeros((4, 2)))
