"""The multi-view scorer through the artifacts: `recsys train` saves it, `score_to_file` / `recsys score
--scorer` reapply it, and the saved scores equal what the experiment's "topics + hashtags + CCA view" method
computes for the same train/test split."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import recsys.app.cli.brand  # noqa: F401  (registers the command under test)
from recsys.app.cli._app import app
from recsys.app.experiments.brand_influencer import ArtifactError, score_to_file
from recsys.app.experiments.brand_influencer.artifacts import MANIFEST
from recsys.app.experiments.brand_influencer.data import load_directory
from recsys.app.experiments.brand_influencer.experiment import MULTI_VIEW_CCA, baseline_scores
from recsys.app.experiments.brand_influencer.pipeline import PipelineSettings, cross_brand_normalise, fit_featurizer


def _experiment_matrix(train_dir: Path, test_dir: Path) -> tuple[np.ndarray, pd.Index, pd.Index]:
    """The experiment's multi-view + CCA matrix for the split (train brands vs test brands x test creators),
    computed on the source directory as cross-validation does, with the rows' brand and creator ids."""
    data = load_directory(train_dir.parent.parent / "all")
    brand_ids, creator_ids = pd.Index(data.brands.ids), pd.Index(data.creators.ids)
    test_brands = pd.read_csv(test_dir / "brands.csv")["brand"]
    test_creators = pd.read_csv(test_dir / "creators.csv")["creator"]
    test_rows, pool = brand_ids.get_indexer(test_brands), creator_ids.get_indexer(test_creators)
    train_rows = np.setdiff1d(np.arange(len(data.brands)), test_rows)
    featurizer = fit_featurizer(data, train_rows, PipelineSettings(), 0)
    rng = np.random.default_rng(0)
    matrix = baseline_scores(data, train_rows, test_rows, pool, featurizer, rng)[MULTI_VIEW_CCA]
    return matrix, pd.Index(test_brands), pd.Index(test_creators)


def _as_matrix(scores_file: Path, brands: pd.Index, creators: pd.Index) -> np.ndarray:
    scores = pd.read_csv(scores_file)
    return scores.pivot(index="brand", columns="creator", values="score").loc[brands, creators].to_numpy()


def test_saved_multi_view_scores_equal_the_experiments(trained_split, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    artifacts, train_dir, test_dir, _ = trained_split
    expected, brands, creators = _experiment_matrix(train_dir, test_dir)
    summary = score_to_file(artifacts, test_dir, tmp_path / "mv.csv")  # multi-view is the default
    assert summary["scorer"] == "multi-view"
    assert np.allclose(_as_matrix(tmp_path / "mv.csv", brands, creators), expected, rtol=1e-6, atol=1e-6)
    score_to_file(artifacts, test_dir, tmp_path / "mv_cbn.csv", cross_brand_norm=True, scorer="multi-view")
    transductive = cross_brand_normalise(expected, 1.0, iterations=10)
    assert np.allclose(_as_matrix(tmp_path / "mv_cbn.csv", brands, creators), transductive, rtol=1e-6, atol=1e-6)
    score_to_file(artifacts, test_dir, tmp_path / "pipe.csv", scorer="pipeline")
    pipeline = _as_matrix(tmp_path / "pipe.csv", brands, creators)
    assert not np.allclose(pipeline, expected, atol=1e-3)  # the option really switches scorer


def test_multi_view_files_are_json_and_npy_in_the_manifest(trained_split) -> None:  # type: ignore[no-untyped-def]
    artifacts, _, _, _ = trained_split
    manifest = json.loads((artifacts / MANIFEST).read_text())
    assert manifest["scorers"] == ["multi-view", "pipeline"]
    assert manifest["multi_view"] == {"hub_k": 10, "hashtag_components": 20}
    names = {"multiview.json", "multiview.directions.npy", "multiview.train_topics.npy", "multiview.train_hashtags.npy"}
    assert names <= set(manifest["files"])
    assert np.load(artifacts / "multiview.train_topics.npy").shape == (26, 19)  # the 26 training brands


def test_candidate_subset_is_standardised_over_each_brands_candidates(trained_split, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    artifacts, _, test_dir, _ = trained_split
    custom = tmp_path / "test"
    shutil.copytree(test_dir, custom)
    full = pd.read_csv(test_dir / "candidates.csv")
    subset = full.groupby("brand").head(20).reset_index(drop=True)
    subset.to_csv(custom / "candidates.csv", index=False)
    scores = pd.read_csv(score_to_file(artifacts, custom, tmp_path / "s.csv")["out"])
    assert scores[["brand", "creator"]].equals(subset) and np.isfinite(scores["score"]).all()
    per_brand = scores.groupby("brand")["score"]
    assert np.allclose(per_brand.mean(), 0.0, atol=1e-5)  # each view's z-scores sum to zero over the candidates


def test_folder_without_multi_view_needs_pipeline_or_retraining(trained_split, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    artifacts, _, test_dir, _ = trained_split
    old = tmp_path / "art"
    shutil.copytree(artifacts, old)
    manifest = json.loads((old / MANIFEST).read_text())
    for name in [n for n in manifest["files"] if n.startswith("multiview.")]:
        (old / name).unlink()
        del manifest["files"][name]
    del manifest["scorers"]  # as written before the multi-view scorer was saved
    (old / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match=r"no multi-view scorer .* retrain, or score with --scorer pipeline"):
        score_to_file(old, test_dir, tmp_path / "s.csv")
    assert score_to_file(old, test_dir, tmp_path / "s.csv", scorer="pipeline")["rows"] == 800
    manifest["scorers"] = ["multi-view", "pipeline"]  # claims a multi-view scorer whose files are gone
    (old / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match=r"missing artifact .*multiview\.json"):
        score_to_file(old, test_dir, tmp_path / "s.csv")
    (old / "multiview.json").write_text("{}")  # an extra file the manifest does not list is not trusted either
    manifest["files"]["multiview.json"] = "0" * 64
    (old / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match=r"multiview\.json"):
        score_to_file(old, test_dir, tmp_path / "s.csv")


def test_cli_scorer_option(trained_split, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    artifacts, _, test_dir, _ = trained_split
    runner = CliRunner()
    outputs = {}
    for scorer in ("pipeline", "multi-view"):
        out = tmp_path / f"{scorer}.csv"
        args = ["score", "--artifacts", str(artifacts), "--dataset", f"brand-influencer:{test_dir}", "--out", str(out)]
        result = runner.invoke(app, [*args, "--scorer", scorer])
        assert result.exit_code == 0, result.output
        assert scorer in result.output
        outputs[scorer] = pd.read_csv(out)
    assert not outputs["pipeline"]["score"].equals(outputs["multi-view"]["score"])
    bad = runner.invoke(
        app, ["score", "--artifacts", str(artifacts), "--dataset", "x", "--out", "y", "--scorer", "knn"]
    )
    assert bad.exit_code == 2 and "knn" in bad.output
