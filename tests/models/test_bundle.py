"""The bundle: manifest contents, identical scores after save -> load, refusal of tampered or mismatched bundles,
and a failed save leaving the current bundle in place."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from models.bundle import BundleError, current_bundle_dir, load_bundle, save_bundle
from recsys.core.vocab import DIRECTIONS


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, copy_function=shutil.copyfile)  # writable copies: saved bundles are read-only
    return dst


def test_manifest_records_what_reproducing_the_run_needs(fixture_bundle) -> None:  # type: ignore[no-untyped-def]
    manifest = json.loads((fixture_bundle.path / "manifest.json").read_text())
    for key in ("run_id", "created_at", "data_hash", "seed", "library_versions", "feature_names", "metrics", "files"):
        assert key in manifest, key
    assert manifest["library_versions"]["lightgbm"] != "missing"
    assert current_bundle_dir(fixture_bundle.settings.artifacts_dir) == fixture_bundle.path
    assert not list(fixture_bundle.path.rglob("*.pkl")) and not list(fixture_bundle.path.rglob("*.pickle"))


def test_save_then_load_gives_identical_scores(fixture_bundle, tmp_path) -> None:  # type: ignore[no-untyped-def]
    first = load_bundle(fixture_bundle.path).engine
    root = tmp_path / "artifacts"
    again = load_bundle(save_bundle(first, root, fixture_bundle.market, 5, {}, compile_models=False)).engine
    rows = np.arange(50)
    x = first.tables.vectors(rows, rows)
    np.testing.assert_array_equal(x, again.tables.vectors(rows, rows))
    for d in DIRECTIONS:
        np.testing.assert_array_equal(first.rankers[d].predict(x), again.rankers[d].predict(x))
        np.testing.assert_array_equal(first.retriever.query(d, 3), again.retriever.query(d, 3))
    np.testing.assert_array_equal(first.gmv.predict(x), again.gmv.predict(x))
    np.testing.assert_array_equal(first.distribution.weight(x), again.distribution.weight(x))


def test_a_modified_file_is_refused_naming_the_file(fixture_bundle, tmp_path) -> None:  # type: ignore[no-untyped-def]
    bundle = _copy(fixture_bundle.path, tmp_path / "b")
    model = bundle / "models" / "gmv.txt"
    model.write_text(model.read_text().replace("tree", "tree ", 1))
    with pytest.raises(BundleError, match=r"models/gmv.txt changed since it was written"):
        load_bundle(bundle)


def test_feature_names_that_do_not_match_the_code_are_refused(fixture_bundle, tmp_path) -> None:  # type: ignore[no-untyped-def]
    bundle = _copy(fixture_bundle.path, tmp_path / "b")
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["feature_names"] = [n for n in manifest["feature_names"] if n != "x_overlap"]
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match=r"feature names do not match.*x_overlap"):
        load_bundle(bundle)


def test_a_model_trained_on_other_features_is_refused(fixture_bundle, tmp_path) -> None:  # type: ignore[no-untyped-def]
    bundle = _copy(fixture_bundle.path, tmp_path / "b")
    donor = (bundle / "models" / "ranker_creator.txt").read_text()
    swapped = donor.replace("x_overlap_gender", "x_overlap_sex")
    (bundle / "models" / "ranker_creator.txt").write_text(swapped)
    with pytest.raises(BundleError, match=r"creator ranker feature names differ"):
        load_bundle(bundle, check_files=False)


def test_unknown_format_and_missing_manifest_are_refused(fixture_bundle, tmp_path) -> None:  # type: ignore[no-untyped-def]
    bundle = _copy(fixture_bundle.path, tmp_path / "b")
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["format"] = 99
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match=r"format 99, this code reads formats 2, 3"):
        load_bundle(bundle)
    (bundle / "manifest.json").unlink()
    with pytest.raises(BundleError, match=r"manifest.json is missing"):
        load_bundle(bundle)


def test_a_format_2_bundle_still_loads_and_serves_the_same_lists(fixture_bundle, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Format 2 (before 2026-12-05) differs only in indexes that store every column, zero-weight ones included."""
    import faiss

    from recsys.core.vocab import Direction

    bundle = _copy(fixture_bundle.path, tmp_path / "b")
    manifest = json.loads((bundle / "manifest.json").read_text())
    retrieval = bundle / "retrieval"
    for name in ("creators", "products"):  # rewritten as format 2 wrote them: every column, none named
        meta = json.loads((retrieval / f"{name}.json").read_text())
        meta.pop("columns", None)
        vectors, scale = np.load(retrieval / f"{name}.npy"), np.asarray(meta["scale"], np.float32)
        assert meta["kind"] == "flat"
        index = faiss.IndexFlatIP(vectors.shape[1])
        index.add(np.ascontiguousarray(vectors * scale, dtype=np.float32))
        for suffix in (".faiss", ".json"):
            (retrieval / f"{name}{suffix}").unlink()
        faiss.write_index(index, str(retrieval / f"{name}.faiss"))
        (retrieval / f"{name}.json").write_text(json.dumps(meta))
    manifest["format"] = 2
    (bundle / "manifest.json").unlink()
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    old, new = load_bundle(bundle, check_files=False).engine, load_bundle(fixture_bundle.path).engine
    assert old.retriever.creator_index.columns_ is None and old.retriever.creator_index.index_.d == vectors.shape[1]
    assert new.retriever.creator_index.columns_ is not None  # the format-3 bundle leaves zero-weight columns out
    for direction, row in ((Direction.CREATOR, 3), (Direction.PRODUCT, 5)):
        a = old.retriever.candidates(direction, row, 50)[1]
        b = new.retriever.candidates(direction, row, 50)[1]
        assert a.tolist() == b.tolist()


def test_a_failed_save_leaves_the_current_bundle_active(fixture_bundle, tmp_path) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "artifacts"
    engine = load_bundle(fixture_bundle.path).engine
    good = save_bundle(engine, root, fixture_bundle.market, 5, {}, compile_models=False)

    class Broken:
        def save(self, directory: Path) -> None:
            raise OSError("disk full")

    engine.retriever = Broken()  # type: ignore[assignment]
    with pytest.raises(OSError, match="disk full"):
        save_bundle(engine, root, fixture_bundle.market, 6, {}, compile_models=False)
    assert current_bundle_dir(root) == good
    assert [p.name for p in root.iterdir() if p.name.startswith(".tmp")] == []


def test_the_data_hash_counts_the_sample_requests(fixture_bundle) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from models.bundle import data_hash
    from recsys.core.schema import sample_requests_frame

    market = fixture_bundle.market
    none = replace(market, sample_requests=sample_requests_frame())
    promo = market.promotions.iloc[0]
    one = sample_requests_frame(
        [
            {
                "request_id": "sr-1",
                "creator_id": promo["creator_id"],
                "product_id": promo["product_id"],
                "requested_at": promo["started_at"],
            }
        ]
    )
    later = one.assign(requested_at=one["requested_at"] + np.timedelta64(1, "D"))
    hashes = {
        data_hash(none),
        data_hash(replace(market, sample_requests=one)),
        data_hash(replace(none, sample_requests=later)),
    }
    assert len(hashes) == 3  # a sample request, and its time, change the data the bundle was trained on
