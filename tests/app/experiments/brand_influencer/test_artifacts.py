"""train_to_dir -> score_to_file end to end on held-out fake brands, and the errors of a broken folder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recsys.app.experiments.brand_influencer import ArtifactError, BrandDataError, score_to_file
from recsys.app.experiments.brand_influencer.artifacts import MANIFEST
from recsys.core.provenance import sha256_file


def _ranks(scores: pd.DataFrame, held: pd.DataFrame) -> pd.Series:
    ranked = scores.assign(rank=scores.groupby("brand")["score"].rank(ascending=False, method="average"))
    return ranked.merge(held[["brand", "creator"]], on=["brand", "creator"])["rank"]


def test_every_candidate_scored_in_order_and_positives_rank_high(trained_split, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    artifacts, _, test_dir, held = trained_split
    out = tmp_path / "scores.csv"
    summary = score_to_file(artifacts, test_dir, out)
    candidates = pd.read_csv(test_dir / "candidates.csv")
    scores = pd.read_csv(out)
    assert list(scores.columns) == ["brand", "creator", "score"]
    assert scores[["brand", "creator"]].equals(candidates) and np.isfinite(scores["score"]).all()
    assert summary["rows"] == len(candidates) == 10 * 80
    ranks = _ranks(scores, held)
    assert len(ranks) == len(held)
    assert ranks.mean() < 0.3 * (80 + 1) / 2  # random ranking would put positives at 40.5 on average


def test_manifest_records_seed_hash_versions_and_no_pickle(trained_split) -> None:  # type: ignore[no-untyped-def]
    artifacts, _, _, _ = trained_split
    manifest = json.loads((artifacts / MANIFEST).read_text())
    assert manifest["seed"] == 0 and len(manifest["data_hash"]) == 64 and manifest["metrics"]["brands"] == 26
    assert {"numpy", "lightgbm", "faiss-cpu", "scikit-learn"} <= set(manifest["library_versions"])
    assert "ranker.txt" in manifest["files"] and manifest["feature_names"][0] == "lda_cos"
    # the keys of a marketplace bundle's manifest (models/bundle.py), so one reader understands both
    bundle_keys = {"format", "run_id", "created_at", "data_hash", "seed", "library_versions", "feature_names"}
    assert bundle_keys | {"metrics", "settings", "files"} <= set(manifest)
    assert manifest["run_id"].endswith(f"-{manifest['data_hash'][:8]}-s0")
    assert "retrieve_k" in manifest["settings"]
    assert not [p for p in artifacts.iterdir() if p.suffix in {".pkl", ".pickle", ".joblib"}]
    assert (artifacts / "ranker.txt").read_text().startswith("tree")  # LightGBM's text format


def test_candidate_subset_and_duplicates_follow_the_file(trained_split, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    artifacts, _, test_dir, _ = trained_split
    custom = tmp_path / "test"
    shutil.copytree(test_dir, custom)
    full = pd.read_csv(test_dir / "candidates.csv")
    subset = pd.concat([full.iloc[[5, 0, 100]], full.iloc[[5]]], ignore_index=True)
    subset.to_csv(custom / "candidates.csv", index=False)
    scores = pd.read_csv(score_to_file(artifacts, custom, tmp_path / "s.csv")["out"])
    assert scores[["brand", "creator"]].equals(subset)
    assert scores["score"].iloc[0] == scores["score"].iloc[3]


def test_missing_candidates_and_unknown_creator(trained_split, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    artifacts, _, test_dir, _ = trained_split
    broken = tmp_path / "test"
    shutil.copytree(test_dir, broken)
    cands = pd.read_csv(broken / "candidates.csv")
    (broken / "candidates.csv").unlink()
    with pytest.raises(BrandDataError, match=r"missing file .*candidates\.csv"):
        score_to_file(artifacts, broken, tmp_path / "s.csv")
    cands.loc[3, "creator"] = "stranger"
    cands.to_csv(broken / "candidates.csv", index=False)
    with pytest.raises(BrandDataError, match=r"candidates\.csv row 3: creator 'stranger' is not in creators\.csv"):
        score_to_file(artifacts, broken, tmp_path / "s.csv")
    assert not (tmp_path / "s.csv").exists()


def test_misaligned_features_in_the_scoring_folder(trained_split, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    artifacts, _, test_dir, _ = trained_split
    broken = tmp_path / "test"
    shutil.copytree(test_dir, broken)
    np.save(broken / "brand_text_lda19.npy", np.full((5, 19), 1 / 19, dtype=np.float32))
    with pytest.raises(BrandDataError, match=r"brand_text_lda19\.npy has 5 rows but brands\.csv has 10"):
        score_to_file(artifacts, broken, tmp_path / "s.csv")


def test_altered_or_incompatible_artifacts(trained_split, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    artifacts, _, test_dir, _ = trained_split
    copy = tmp_path / "art"
    shutil.copytree(artifacts, copy)
    meta = json.loads((copy / "pipeline.json").read_text())
    meta["feature_names"] = [*meta["feature_names"][:-1], "brand_country"]
    (copy / "pipeline.json").write_text(json.dumps(meta))
    with pytest.raises(ArtifactError, match=r"pipeline\.json changed since it was written"):
        score_to_file(copy, test_dir, tmp_path / "s.csv")
    manifest = json.loads((copy / MANIFEST).read_text())
    manifest["files"]["pipeline.json"] = sha256_file(copy / "pipeline.json")  # a consistent but foreign folder
    (copy / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match=r"feature names .*brand_country.* differ"):
        score_to_file(copy, test_dir, tmp_path / "s.csv")
    (copy / MANIFEST).write_text(json.dumps({**manifest, "format": 0}))
    with pytest.raises(ArtifactError, match=r"format 0, this code reads format 1"):
        score_to_file(copy, test_dir, tmp_path / "s.csv")
    (copy / MANIFEST).unlink()
    with pytest.raises(ArtifactError, match="not a finished `recsys train` output"):
        score_to_file(copy, test_dir, tmp_path / "s.csv")


def test_cross_brand_norm_scores_every_row(trained_split, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    artifacts, _, test_dir, held = trained_split
    summary = score_to_file(artifacts, test_dir, tmp_path / "s.csv", cross_brand_norm=True)
    assert summary["cross_brand_norm"] is True and not summary["notes"]
    scores = pd.read_csv(summary["out"])
    assert len(scores) == 10 * 80 and np.isfinite(scores["score"]).all()
    assert _ranks(scores, held).mean() < 0.3 * (80 + 1) / 2


def test_cross_brand_norm_is_skipped_for_few_brands(trained_split, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    artifacts, _, test_dir, _ = trained_split
    few = tmp_path / "test"
    shutil.copytree(test_dir, few)
    cands = pd.read_csv(test_dir / "candidates.csv")
    cands[cands["brand"].isin(cands["brand"].unique()[:3])].to_csv(few / "candidates.csv", index=False)
    summary = score_to_file(artifacts, few, tmp_path / "s.csv", cross_brand_norm=True)
    assert summary["cross_brand_norm"] is False and "needs at least 10 brands" in summary["notes"][0]
    plain = score_to_file(artifacts, few, tmp_path / "p.csv")
    assert pd.read_csv(summary["out"]).equals(pd.read_csv(plain["out"]))


def test_holdout_rehearsal_split_and_evaluation(trained_split, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from recsys.app.experiments.brand_influencer.holdout import evaluate_scores

    artifacts, train_dir, test_dir, held = trained_split
    assert not (test_dir / "pairs.csv").exists()
    train_brands = set(pd.read_csv(train_dir / "brands.csv")["brand"])
    assert not train_brands & set(pd.read_csv(test_dir / "brands.csv")["brand"])  # brand-disjoint
    assert set(held["brand"]) == set(pd.read_csv(test_dir / "brands.csv")["brand"])
    out = score_to_file(artifacts, test_dir, tmp_path / "s.csv")["out"]
    metrics = evaluate_scores(Path(out), test_dir.parent / "test_labels.csv")
    assert metrics["brands"] == 10 and metrics["pool"] == 80 and metrics["labels_not_scored"] == 0
    assert metrics["r@10"] > 0.5 and metrics["auc"] > 0.9  # random: r@10 = 10/80, auc = 0.5
