"""Models derived from a LightGBM text model (models.gbm.derived): leaf indices and tree ranges in native code give
exactly what LightGBM gives."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pytest

from models.gbm.derived import ModelText, NativeLeaves, compiled_text


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 6))
    X[rng.random(X.shape) < 0.1] = np.nan  # missing values take LightGBM's default direction
    y = X[:, 0] * 2 + np.nan_to_num(X[:, 1]) ** 2 + rng.normal(size=2000)
    booster = lgb.train(
        {"objective": "regression", "num_leaves": 15, "verbosity": -1, "seed": 1, "deterministic": True},
        lgb.Dataset(X, y),
        num_boost_round=37,
    )
    path = tmp_path_factory.mktemp("derived") / "model.txt"
    booster.save_model(str(path))
    return path


def _rows() -> np.ndarray:
    X = np.random.default_rng(5).normal(size=(300, 6)) * 2
    X[::7, 1] = np.nan
    X[::11, 0] = np.nan
    return X


def test_native_leaves_equal_pred_leaf_across_chunks(model_file, tmp_path) -> None:  # type: ignore[no-untyped-def]
    booster, X = lgb.Booster(model_file=str(model_file)), _rows()
    leaves = NativeLeaves.build(model_file, tmp_path / "cache", chunk=16)  # 37 trees: chunks of 16, 16 and 5
    assert len(leaves.parts) == 3 and leaves.n_trees == 37
    got = leaves.predict(X)
    assert got.dtype == np.int32 and got.shape == (300, 37)
    np.testing.assert_array_equal(got, booster.predict(X, pred_leaf=True))
    # a second build loads what the first compiled (files named by the derived text's digest)
    before = sorted(p.name for p in (tmp_path / "cache").iterdir())
    again = NativeLeaves.build(model_file, tmp_path / "cache", chunk=16)
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == before
    np.testing.assert_array_equal(again.predict(X[:3]), got[:3])


def test_tree_ranges_add_up_to_the_raw_score(model_file, tmp_path) -> None:  # type: ignore[no-untyped-def]
    booster, X = lgb.Booster(model_file=str(model_file)), _rows()
    text = ModelText.parse(model_file.read_text())
    head = compiled_text(text.tree_range(0, 10), tmp_path).predict_raw(X)
    tail = compiled_text(text.tree_range(10, 37), tmp_path).predict_raw(X)
    np.testing.assert_allclose(head, booster.predict(X, num_iteration=10, raw_score=True), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(head + tail, booster.predict(X, raw_score=True), rtol=1e-12, atol=1e-12)


def test_bad_models_and_ranges_are_refused(model_file) -> None:  # type: ignore[no-untyped-def]
    text = ModelText.parse(model_file.read_text())
    with pytest.raises(ValueError, match=r"tree range \[5, 40\)"):
        text.tree_range(5, 40)
    with pytest.raises(ValueError, match="end of trees"):
        ModelText.parse("tree\nversion=v4\n")
    several = model_file.read_text().replace("num_tree_per_iteration=1", "num_tree_per_iteration=3")
    with pytest.raises(ValueError, match="one tree per iteration"):
        ModelText.parse(several)
