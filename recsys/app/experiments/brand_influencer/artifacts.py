"""Train the scorers on a whole brand-influencer directory and score unseen brands from a saved folder.

``train_to_dir`` backs ``recsys train --dataset brand-influencer:PATH --out DIR``; ``score_to_file`` backs
``recsys score --artifacts DIR --dataset brand-influencer:PATH --out FILE [--scorer multi-view|pipeline]``. The
artifact folder holds both scorers: the pipeline (LightGBM's text model, the featurizer's JSON and .npy arrays)
and the multi-view content scorer (``multiview.json`` + ``multiview.*.npy``; it reuses the pipeline's featurizer
for the hashtag centring and the CCA view) — JSON and .npy only, no pickle. ``multi-view`` (topics + hashtags +
CCA view) is the default scorer: it beats the pipeline on R@10, R@50, MRR and MedR of the creator-disjoint CV
(docs/brand_influencer.md).

``manifest.json`` has the keys of a marketplace bundle's manifest (:mod:`models.bundle`): ``format``, ``run_id``,
``created_at``, ``data_hash``, ``seed``, ``library_versions``, ``feature_names``, ``metrics``, ``settings`` and the
sha256 of every other file (``files``), built with :mod:`recsys.core.provenance`; plus what only this pipeline has:
``kind``, ``train_dir`` and the brand ``categories`` seen in training. It is written last, so a folder without
one is never mistaken for a finished training run; loading refuses another format, changed files or other
feature names, naming the mismatch.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from recsys.app.experiments.brand_influencer.content import MULTI_VIEW_PREFIX, MultiViewScorer
from recsys.app.experiments.brand_influencer.data import (
    BrandDataError,
    Brands,
    Creators,
    directory_hash,
    load_candidates,
    load_directory,
)
from recsys.app.experiments.brand_influencer.features import FEATURE_NAMES, ContentFeaturizer
from recsys.app.experiments.brand_influencer.pipeline import (
    MIN_BRANDS_FOR_CROSS_NORM,
    BrandCreatorPipeline,
    PipelineSettings,
    cross_brand_normalise,
    fit_multi_view,
)
from recsys.core.progress import stage
from recsys.core.provenance import CORE_LIBRARIES, file_problem, library_versions, sha256_file

MANIFEST = "manifest.json"
ARTIFACT_KIND = "brand-influencer pipeline"
ARTIFACT_FORMAT = 1
SCORERS = ("multi-view", "pipeline")
DEFAULT_SCORER = "multi-view"


class ArtifactError(ValueError):
    """An artifact folder that cannot be used (missing, corrupted or from another code version)."""


def train_to_dir(train_dir: Path, out_dir: Path, seed: int, settings: PipelineSettings | None = None) -> dict[str, Any]:
    """Train the full pipeline on ALL brands and pairs of ``train_dir``; write the artifacts to ``out_dir``.

    Returns a summary (brands, creators, pairs, trees, data hash, seconds, out dir) for printing.
    """
    started = time.perf_counter()
    train_dir, out_dir = Path(train_dir), Path(out_dir)
    data = load_directory(train_dir, with_pairs=True)
    assert data.pairs is not None
    if data.pairs.empty:
        raise BrandDataError(f"{train_dir / 'pairs.csv'} has no rows: nothing to learn from")
    with stage(f"training brand-influencer pipeline on {len(data.brands)} brands"):
        pipeline = BrandCreatorPipeline(settings, seed=seed).fit(data, np.arange(len(data.brands)))
    multi_view = fit_multi_view(pipeline.featurizer_, data, np.arange(len(data.brands)))
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / MANIFEST).unlink(missing_ok=True)  # a folder without manifest is never mistaken for a finished one
    meta = pipeline.save(out_dir)
    multi_view.save(out_dir)
    digest, created = directory_hash(train_dir), datetime.now(UTC)
    metrics = {
        "brands": len(data.brands),
        "creators": len(data.creators),
        "pairs": len(data.pairs),
        "best_iteration": meta["best_iteration"],
        "training_groups": meta["n_training_groups"],
    }
    manifest = {
        "format": ARTIFACT_FORMAT,
        "kind": ARTIFACT_KIND,
        "run_id": f"{created:%Y%m%d-%H%M%S}-{digest[:8]}-s{seed}",  # the scheme of marketplace bundles
        "created_at": created.isoformat(),
        "data_hash": digest,
        "seed": seed,
        "library_versions": library_versions(CORE_LIBRARIES),
        "feature_names": meta["feature_names"],
        "metrics": metrics,
        "settings": meta["settings"],
        "scorers": list(SCORERS),
        "multi_view": {"hub_k": multi_view.hub_k, "hashtag_components": multi_view.hashtag_components},
        "train_dir": str(train_dir.resolve()),
        "categories": pipeline.featurizer_.categories_,
        "files": {p.name: sha256_file(p) for p in sorted(out_dir.iterdir()) if p.is_file() and p.name != MANIFEST},
    }
    (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return {
        "out": str(out_dir),
        "run_id": manifest["run_id"],
        "brands": metrics["brands"],
        "creators": metrics["creators"],
        "pairs": metrics["pairs"],
        "features": len(meta["feature_names"]),
        "trees": metrics["best_iteration"],
        "training_groups": metrics["training_groups"],
        "data_hash": digest[:12],
        "seconds": round(time.perf_counter() - started, 1),
    }


def load_multi_view(artifacts_dir: Path, manifest: dict[str, Any]) -> MultiViewScorer:
    """The saved multi-view scorer; ArtifactError (retrain, or use the pipeline) for a folder without one."""
    if "multi-view" not in manifest.get("scorers", ["pipeline"]):
        raise ArtifactError(
            f"{artifacts_dir} holds no multi-view scorer (trained by an older `recsys train`): retrain, or score "
            "with --scorer pipeline"
        )
    try:
        return MultiViewScorer.load(Path(artifacts_dir), MULTI_VIEW_PREFIX)
    except ValueError as exc:
        raise ArtifactError(str(exc)) from exc


def multi_view_matrix(
    scorer: MultiViewScorer, featurizer: ContentFeaturizer, brands: Brands, creators: Creators, mask: np.ndarray
) -> np.ndarray:
    """Multi-view scores (topics + hashtags + the featurizer's CCA view) of brands x creators; each brand is
    standardised over its ``mask`` cells (its candidates), -inf elsewhere."""
    cca = featurizer.transform(brands, creators)[..., FEATURE_NAMES.index("cca_sim")]
    return np.where(mask, scorer.score(featurizer, brands, creators, extra_views=[cca], mask=mask), -np.inf)


def load_pipeline(artifacts_dir: Path) -> tuple[BrandCreatorPipeline, dict[str, Any]]:
    """The saved pipeline and its manifest; ArtifactError when the folder is missing, altered or incompatible."""
    artifacts_dir = Path(artifacts_dir)
    manifest_path = artifacts_dir / MANIFEST
    if not manifest_path.is_file():
        raise ArtifactError(f"{manifest_path} not found: {artifacts_dir} is not a finished `recsys train` output")
    try:
        manifest = json.loads(manifest_path.read_text())
    except json.JSONDecodeError as exc:
        raise ArtifactError(f"{manifest_path} is not valid JSON ({exc})") from exc
    if manifest.get("kind") != ARTIFACT_KIND:
        raise ArtifactError(f"{manifest_path}: kind {manifest.get('kind')!r}, expected {ARTIFACT_KIND!r}")
    if manifest.get("format") != ARTIFACT_FORMAT:
        raise ArtifactError(
            f"{manifest_path}: format {manifest.get('format')!r}, this code reads format {ARTIFACT_FORMAT}; "
            "retrain with `recsys train`"
        )
    problem = file_problem(artifacts_dir, manifest.get("files", {}))
    if problem is not None:
        raise ArtifactError(f"{artifacts_dir}: artifact {problem}; retrain with `recsys train`")
    try:
        pipeline = BrandCreatorPipeline.load(artifacts_dir)
    except ValueError as exc:
        raise ArtifactError(str(exc)) from exc
    if manifest.get("feature_names") != pipeline.feature_names:
        raise ArtifactError(
            f"{manifest_path}: feature names {manifest.get('feature_names')} differ from the "
            f"code's {pipeline.feature_names}; retrain with `recsys train`"
        )
    return pipeline, manifest


def score_to_file(
    artifacts_dir: Path,
    data_dir: Path,
    out_file: Path,
    cross_brand_norm: bool = False,
    temperature: float = 1.0,
    scorer: str = DEFAULT_SCORER,
) -> dict[str, Any]:
    """Score every row of ``data_dir/candidates.csv`` and write ``brand,creator,score`` (same row order).

    ``scorer`` is ``multi-view`` (default: the multi-view content score with the CCA view, as the experiment's
    "topics + hashtags + CCA view" method) or ``pipeline`` (FAISS retrieval + LambdaRank).
    ``cross_brand_norm`` applies the transductive cross-brand normalisation over the candidate matrix (skipped,
    with a note in the summary, when the file has fewer than MIN_BRANDS_FOR_CROSS_NORM brands).
    Returns a summary for printing.
    """
    started = time.perf_counter()
    if scorer not in SCORERS:
        raise ArtifactError(f"unknown scorer {scorer!r}; expected one of {', '.join(SCORERS)}")
    pipeline, manifest = load_pipeline(artifacts_dir)
    multi_view = load_multi_view(artifacts_dir, manifest) if scorer == "multi-view" else None
    data = load_directory(Path(data_dir), with_pairs=False)
    candidates = load_candidates(Path(data_dir), data.brands, data.creators)
    brand_rows, brand_pos = np.unique(candidates["brand_row"].to_numpy(), return_inverse=True)
    creator_rows, creator_pos = np.unique(candidates["creator_row"].to_numpy(), return_inverse=True)
    allowed = np.zeros((len(brand_rows), len(creator_rows)), dtype=bool)
    allowed[brand_pos, creator_pos] = True
    brands, creators = data.brands.subset(brand_rows), data.creators.subset(creator_rows)
    skipped = cross_brand_norm and len(brand_rows) < MIN_BRANDS_FOR_CROSS_NORM
    with stage(f"scoring {len(candidates)} candidates of {len(brand_rows)} brands"):
        if multi_view is None:
            scores = pipeline.score(brands, creators, allowed)
        else:
            scores = multi_view_matrix(multi_view, pipeline.featurizer_, brands, creators, allowed)
        if cross_brand_norm and not skipped:
            scores = cross_brand_normalise(scores, temperature, allowed)
    values = scores[brand_pos, creator_pos]
    if not np.all(np.isfinite(values)):
        raise RuntimeError(f"{int((~np.isfinite(values)).sum())} candidate scores are not finite (a bug)")
    out = pd.DataFrame({"brand": candidates["brand"], "creator": candidates["creator"], "score": values})
    Path(out_file).parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(out_file, index=False, float_format="%.8g")
    known = set(manifest["categories"])
    unknown = sorted({c for c in brands.category if c not in known})
    return {
        "out": str(out_file),
        "rows": len(out),
        "brands": len(brand_rows),
        "creators": len(creator_rows),
        "unknown_categories": unknown,
        "scorer": scorer,
        "cross_brand_norm": cross_brand_norm and not skipped,
        "notes": [
            f"cross-brand normalisation skipped: it needs at least {MIN_BRANDS_FOR_CROSS_NORM} brands, "
            f"the file has {len(brand_rows)}"
        ]
        if skipped
        else [],
        "seconds": round(time.perf_counter() - started, 1),
    }
