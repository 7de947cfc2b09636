"""Compiled models (lleaves) give LightGBM's scores; a bundle built elsewhere compiles its own copy."""

from __future__ import annotations

import json
import shutil

import numpy as np

from models.bundle import load_bundle, save_bundle
from models.gbm.derived import LEAF_CHUNK, ModelText
from recsys.core.vocab import DIRECTIONS


def test_compiled_bundle_scores_like_lightgbm_and_recompiles_for_another_cpu(fixture_bundle, tmp_path) -> None:  # type: ignore[no-untyped-def]
    plain = load_bundle(fixture_bundle.path).engine
    dump = {"ranker": {"cascade_trees": 3}}
    path = save_bundle(plain, tmp_path / "artifacts", fixture_bundle.market, 5, dump, compile_models=True)
    assert sorted(p.name for p in (path / "models").glob("*.so")) == [
        "distribution.so",
        "gmv.so",
        "ranker_creator.so",
        "ranker_product.so",
    ]
    derived = tmp_path / "artifacts" / ".compiled" / path.name / "derived"  # compiled at training, loaded after
    made = sorted(p.name for p in derived.iterdir())
    trees = {d: len(ModelText.parse((path / "models" / f"ranker_{d}.txt").read_text()).trees) for d in DIRECTIONS}
    chunks = sum(-(-n // LEAF_CHUNK) for n in trees.values())  # both rankers' leaf indices, + the product's head
    assert len([name for name in made if name.endswith(".so")]) == chunks + 1
    fast = load_bundle(path, compiled=True).engine
    assert sorted(p.name for p in derived.iterdir()) == made
    assert fast.rankers["creator"].compiled_ is not None and fast.gmv.compiled_ is not None
    rows = np.arange(200)
    X = plain.tables.vectors(rows % 300, rows)
    for d in DIRECTIONS:
        np.testing.assert_allclose(fast.rankers[d].predict(X), plain.rankers[d].predict(X), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(fast.gmv.predict(X), plain.gmv.predict(X), rtol=1e-9)
    for d in DIRECTIONS:  # the rankers' pages take their leaves from native code too (models.gbm.derived)
        assert fast.rankers[d].native_leaves_ is not None and plain.rankers[d].native_leaves_ is None
        np.testing.assert_array_equal(fast.rankers[d].leaves(X[:50]), plain.rankers[d].leaves(X[:50]))
    np.testing.assert_allclose(fast.distribution.weight(X), plain.distribution.weight(X), atol=1e-9)

    # the same bundle on "another CPU": its own files are not loaded, a local copy is compiled once
    moved = tmp_path / "elsewhere" / path.name
    shutil.copytree(path, moved, copy_function=shutil.copyfile)  # writable: saved bundles are read-only
    manifest = json.loads((moved / "manifest.json").read_text())
    manifest["compiled_cpu"] = "some-other-cpu:+sse2"
    (moved / "manifest.json").write_text(json.dumps(manifest))
    cache = tmp_path / "cache"
    again = load_bundle(moved, compiled=True, cache_dir=cache).engine
    assert sorted(p.name for p in cache.glob("*.so")) == sorted(p.name for p in (path / "models").glob("*.so"))
    np.testing.assert_allclose(again.rankers["creator"].predict(X), plain.rankers["creator"].predict(X), rtol=1e-9)
