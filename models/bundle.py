"""The versioned model bundle: ``artifacts/<run_id>/`` plus ``artifacts/current`` naming the active one.

Layout (no pickle anywhere)::

    artifacts/<run_id>/manifest.json          run id, time, data hash, seed, library versions, feature names,
                                              metrics, settings, and a sha256 of every other file
    artifacts/<run_id>/features/               feature tables (.npy), id maps (Parquet), tables.json
    artifacts/<run_id>/retrieval/              FAISS indexes (.faiss), their vectors (.npy), retrieval.json
    artifacts/<run_id>/models/                 LightGBM text models (+ .json sidecars), quantile maps (JSON)

A bundle is written to a hidden temporary folder, its files made read-only (0444), renamed into place, and
``current`` is replaced atomically, so a failed or interrupted training run leaves the previous bundle active.
Loading refuses a bundle whose format, files (checksums) or feature names do not match, with a message naming the
mismatch. The service loads from a shared snapshot (``models.bundle_snapshot``): the files are copied and verified
in one pass, and everything it memory-maps or loads later comes from that copy.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features.names import feature_names
from features.tables import FeatureTables
from models.bundle_snapshot import (
    SnapshotError,
    copy_into_snapshot,
    is_snapshot,
    make_read_only,
    remove_snapshot,
    snapshot_bundle,
)
from models.engine import Engine
from models.gbm.calibration import QuantileMap
from models.gbm.compiled import CompiledTrees, compile_or_load, cpu_signature
from models.gbm.derived import ModelText, NativeLeaves, compiled_text
from models.gbm.distribution import DistributionModel
from models.gbm.gmv_calibration import GMVCalibrator
from models.gbm.ranker import LambdaRanker
from models.gbm.regressor import GBMRegressor
from models.integrity.fake_engagement import EngagementFlags
from models.retrieval.retriever import Retriever
from recsys.core.provenance import CORE_LIBRARIES, file_problem, library_versions, sha256_file
from recsys.core.schema import TABLES, Marketplace
from recsys.core.vocab import DIRECTIONS, Direction

BUNDLE_FORMAT = 3  # 2: models/gmv_calibration.json, integrity/; 3: retrieval indexes may store fewer columns
# formats this code reads: format 2 differs only in its indexes storing every column, which they still load as;
# code before format 3 refuses a format-3 bundle by its format (its indexes would not match their vectors there)
READABLE_FORMATS = (2, 3)

log = logging.getLogger(__name__)


class BundleError(Exception):
    """A bundle that cannot be used; the message names what is missing or mismatched."""


def data_hash(market: Marketplace) -> str:
    """sha256 over every table's rows (list cells as JSON), independent of where the data came from; the sample
    requests count too when there are any (a creator feature reads them), so a marketplace without any hashes as
    it did before they existed."""
    digest = hashlib.sha256()
    for name in TABLES:
        _hash_rows(digest, name, market.table(name))
    if len(market.sample_requests):
        _hash_rows(digest, "sample_requests", market.sample_requests)
    return digest.hexdigest()


def _hash_rows(digest: Any, name: str, frame: pd.DataFrame) -> None:
    digest.update(name.encode())
    if frame.empty:
        return
    frame = frame[sorted(frame.columns)].copy()
    for col in frame.columns:
        if frame[col].dtype == object:
            frame[col] = frame[col].map(
                lambda v: json.dumps(v.tolist() if isinstance(v, np.ndarray) else v, default=str)
            )
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())


def save_bundle(
    engine: Engine,
    root: Path,
    market: Marketplace,
    seed: int,
    settings_dump: dict[str, Any],
    compile_models: bool = True,
    data_digest: str | None = None,
) -> Path:
    """Write ``engine`` as a new bundle under ``root`` and make it current. Returns the bundle folder.

    With ``compile_models`` every LightGBM model is also compiled to native code (``models/<name>.so``, lleaves)
    for the request path; the manifest records the CPU they were built for. ``data_digest``: the data hash when the
    caller computed it (the Dask path, which never holds the promotions); else :func:`data_hash` of ``market``.
    """
    digest = data_digest if data_digest is not None else data_hash(market)
    created = datetime.now(UTC)
    run_id = f"{created:%Y%m%d-%H%M%S}-{digest[:8]}-s{seed}"
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".tmp-{run_id}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        engine.tables.save(tmp / "features")
        engine.retriever.save(tmp / "retrieval")
        models = tmp / "models"
        models.mkdir(parents=True)
        shared = engine.rankers[Direction.CREATOR] is engine.rankers[Direction.PRODUCT]
        if shared:
            engine.rankers[Direction.CREATOR].save(models / "ranker_shared.txt")
        else:
            for d in DIRECTIONS:
                engine.rankers[d].save(models / f"ranker_{d}.txt")
        engine.gmv.save(models / "gmv.txt")
        engine.distribution.save(models)
        if engine.gmv_calibration is None:
            raise ValueError("the engine has no GMV calibration; train it with models.training.train.train_engine")
        engine.gmv_calibration.save(models)
        if engine.engagement is None:
            raise ValueError("the engine has no engagement flags; train it with models.training.train.train_engine")
        engine.engagement.save(tmp / "integrity")
        (models / "fit_maps.json").write_text(json.dumps({d: m.to_list() for d, m in engine.fit_maps.items()}))
        compiled_cpu = None
        if compile_models:
            for text_model in sorted(models.glob("*.txt")):
                CompiledTrees.compile(text_model, text_model.with_suffix(".so"))
            compiled_cpu = cpu_signature()
            _derive(models, root / ".compiled" / run_id / "derived", settings_dump)
        files = {str(p.relative_to(tmp)): sha256_file(p) for p in sorted(tmp.rglob("*")) if p.is_file()}
        manifest = {
            "format": BUNDLE_FORMAT,
            "run_id": run_id,
            "created_at": created.isoformat(),
            "data_hash": digest,
            "data_now": engine.tables.cutoff.isoformat(),
            "seed": seed,
            "library_versions": library_versions([*CORE_LIBRARIES, "lleaves", "llvmlite"]),
            "feature_names": engine.tables.feature_names,
            "extras": engine.tables.extras,
            "ranker_mode": "shared" if shared else "per_direction",
            "compiled_cpu": compiled_cpu,
            "metrics": engine.metrics,
            "settings": settings_dump,
            "files": files,
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))
        make_read_only(tmp)
        final = root / run_id
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    set_current(root, run_id)
    return final


def set_current(root: Path, run_id: str) -> None:
    """Point ``root/current`` at ``run_id`` atomically."""
    if not (root / run_id / "manifest.json").exists():
        raise BundleError(f"no bundle {run_id!r} under {root}")
    tmp = root / ".current.tmp"
    tmp.write_text(run_id + "\n")
    os.replace(tmp, root / "current")


def current_bundle_dir(root: Path) -> Path:
    """The folder named by ``root/current``; a clear error when there is none."""
    pointer = root / "current"
    if not pointer.exists():
        raise BundleError(f"no trained bundle: {pointer} does not exist (run `recsys train`)")
    path = root / pointer.read_text().strip()
    if not path.is_dir():
        raise BundleError(f"{pointer} names {path.name!r}, which does not exist")
    return path


def incompatibility(path: Path) -> str | None:
    """Why this code cannot serve the bundle in ``path`` (format or feature names differ: it was trained by another
    version), or None. Reads only the manifest: no files are checked or loaded."""
    try:
        manifest = json.loads((path / "manifest.json").read_text())
        _verify(path, manifest, check_files=False)
    except BundleError as exc:
        return str(exc)
    except (OSError, ValueError, KeyError) as exc:
        return f"bundle {path.name}: unreadable manifest ({exc})"
    return None


@dataclass
class Bundle:
    """A loaded, verified bundle. ``path`` is the folder its files were loaded from: the bundle's own, or the private
    snapshot the service serves from (then ``source`` is the bundle's own folder)."""

    path: Path
    manifest: dict[str, Any]
    engine: Engine
    source: Path | None = None

    @property
    def run_id(self) -> str:
        return str(self.manifest["run_id"])


def _verify(path: Path, manifest: dict[str, Any], check_files: bool) -> None:
    if manifest.get("format") not in READABLE_FORMATS:
        raise BundleError(
            f"bundle {path.name}: format {manifest.get('format')!r}, this code reads formats "
            f"{', '.join(map(str, READABLE_FORMATS))}"
        )
    extras = manifest["extras"]
    expected = feature_names(
        extras["creator"]["numeric"],
        extras["creator"]["embeddings"],
        extras["product"]["numeric"],
        extras["product"]["embeddings"],
    )
    if manifest["feature_names"] != expected:
        missing = [n for n in expected if n not in manifest["feature_names"]][:5]
        unknown = [n for n in manifest["feature_names"] if n not in expected][:5]
        raise BundleError(
            f"bundle {path.name}: feature names do not match this code's FEATURE_NAMES "
            f"(code expects but bundle lacks {missing}; bundle has unknown {unknown})"
        )
    problem = file_problem(path, manifest["files"]) if check_files else None
    if problem is not None:
        raise BundleError(f"bundle {path.name}: {problem}")


def _check_names(path: Path, what: str, got: list[str], want: list[str]) -> None:
    if got != want:
        diff = next((i for i, (a, b) in enumerate(zip(got, want, strict=False)) if a != b), min(len(got), len(want)))
        raise BundleError(
            f"bundle {path.name}: {what} feature names differ from the manifest at position {diff} "
            f"({got[diff : diff + 1]} vs {want[diff : diff + 1]}; {len(got)} vs {len(want)} features)"
        )


def load_bundle(
    path: Path,
    mmap: bool = False,
    check_files: bool = True,
    compiled: bool = False,
    cache_dir: Path | None = None,
    snapshot_into: Path | None = None,
) -> Bundle:
    """Load and verify the bundle in ``path`` (a run folder).

    ``compiled`` attaches native-code models for serving: the bundle's own when they were built for this CPU,
    else copies compiled once into ``cache_dir`` (default ``<artifacts>/.compiled/<run_id>``). With
    ``snapshot_into`` (an artifacts folder) every file is first copied into a shared snapshot under it, verified
    as it is copied, and the bundle is loaded from the copy (compiled models too).
    """
    if snapshot_into is not None:
        try:
            snapshot = snapshot_bundle(path, snapshot_into)
        except SnapshotError as exc:
            raise BundleError(str(exc)) from exc
        cache = cache_dir or path.parent / ".compiled" / path.name
        try:
            bundle = load_bundle(snapshot, mmap=mmap, check_files=False, compiled=compiled, cache_dir=cache)
        except BaseException:
            remove_snapshot(snapshot)
            raise
        bundle.source = path
        return bundle
    manifest_path = path / "manifest.json"
    if not manifest_path.exists():
        raise BundleError(f"{path} is not a bundle: manifest.json is missing")
    try:
        manifest = json.loads(manifest_path.read_text())
    except json.JSONDecodeError as exc:
        raise BundleError(f"bundle {path.name}: manifest.json is not valid JSON ({exc})") from exc
    _verify(path, manifest, check_files)
    names = list(manifest["feature_names"])
    try:
        tables = FeatureTables.load(path / "features", mmap=mmap)
        models = path / "models"
        if manifest["ranker_mode"] == "shared":
            shared = LambdaRanker.load(models / "ranker_shared.txt")
            rankers = dict.fromkeys(DIRECTIONS, shared)
        else:
            rankers = {d: LambdaRanker.load(models / f"ranker_{d}.txt") for d in DIRECTIONS}
        gmv = GBMRegressor.load(models / "gmv.txt")
        distribution = DistributionModel.load(models)
        gmv_calibration = GMVCalibrator.load(models)
        engagement = EngagementFlags.load(path / "integrity", mmap=mmap)
        maps = json.loads((models / "fit_maps.json").read_text())
        fit_maps = {d: QuantileMap(np.array(maps[d])) for d in DIRECTIONS}
        retriever = Retriever.load(path / "retrieval", mmap=mmap)
    except (OSError, ValueError, KeyError) as exc:
        raise BundleError(f"bundle {path.name} cannot be read: {exc}") from exc
    _check_names(path, "feature table", tables.feature_names, names)
    for d in DIRECTIONS:
        _check_names(path, f"{d} ranker", rankers[d].feature_names_, names)
    _check_names(path, "GMV model", gmv.feature_names_, names)
    _check_names(path, "distribution model", distribution.regressor_.feature_names_, names)
    if retriever.product_index.n_rows != len(tables.products) or retriever.creator_index.n_rows != len(tables.creators):
        raise BundleError(f"bundle {path.name}: retrieval indexes do not cover the feature tables' creators/products")
    engine = Engine(
        tables,
        rankers,
        gmv,
        distribution,
        fit_maps,
        retriever,
        dict(manifest.get("metrics", {})),
        gmv_calibration,
        engagement,
    )
    if compiled:
        _attach_compiled(engine, path, manifest, cache_dir or path.parent / ".compiled" / path.name)
    return Bundle(path, manifest, engine)


def _attach_compiled(engine: Engine, path: Path, manifest: dict[str, Any], cache: Path) -> None:
    models = path / "models"
    targets: list[tuple[str, LambdaRanker | GBMRegressor]] = [("gmv", engine.gmv)]
    targets.append(("distribution", engine.distribution.regressor_))
    if manifest["ranker_mode"] == "shared":
        targets.append(("ranker_shared", engine.rankers[Direction.CREATOR]))
    else:
        targets += [(f"ranker_{d}", engine.rankers[d]) for d in DIRECTIONS]
    for name, model in targets:
        text = models / f"{name}.txt"
        so_file = text.with_suffix(".so")
        sha = str(manifest["files"].get(f"models/{name}.txt", ""))[:16]
        model.paths_cache = cache / f"{name}.{sha}.paths.npz" if sha else None  # explanation paths, kept per model
        if is_snapshot(path) and manifest.get("compiled_cpu") != cpu_signature():
            model.compiled_ = _compiled_privately(text, so_file, cache, path / ".compiled")
        else:
            model.compiled_ = compile_or_load(text, so_file, cache, manifest.get("compiled_cpu"))
        model.model_file, model.derived_cache = text, cache / "derived"
        if model.compiled_ is not None and name.startswith("ranker"):  # rankers explain their pages
            model.native_leaves_ = _native_leaves(text, model.derived_cache)


def _derive(models: Path, cache: Path, settings_dump: dict[str, Any]) -> None:
    """Compile, at training, what the first serving load on this machine would otherwise compile: the rankers' leaf
    indices and the product ranker's cascade head (:mod:`models.gbm.derived`), into the bundle's compile cache
    (outside the bundle: it holds code for this CPU only). A failure here is logged; the load tries again."""
    trees = int(settings_dump.get("ranker", {}).get("cascade_trees", 0) or 0)
    for text in sorted(models.glob("ranker_*.txt")):
        if _native_leaves(text, cache) is None:
            continue
        if trees > 0 and text.stem in ("ranker_product", "ranker_shared"):
            try:
                model = ModelText.parse(text.read_text())
                if trees < len(model.trees):
                    compiled_text(model.tree_range(0, trees), cache)
            except Exception as exc:
                log.warning(
                    "the cascade head of %s was not compiled (%s): the first serving load compiles it", text.name, exc
                )


def _native_leaves(text: Path, cache: Path) -> NativeLeaves | None:
    """The ranker's leaf-index models (:mod:`models.gbm.derived`), compiled into ``cache`` once per machine; None
    (and a warning) when that fails here — pages then take their leaves from LightGBM."""
    try:
        return NativeLeaves.build(text, cache)
    except Exception as exc:
        log.warning("native leaf indices of %s unavailable (%s); using LightGBM's", text.name, exc)
        return None


def _compiled_privately(text: Path, so_file: Path, shared: Path, private: Path) -> CompiledTrees | None:
    """A model compiled for this CPU, loaded from the snapshot's own copy (the shared cache is only a source)."""
    cached = shared / so_file.name
    if cached.is_file() and not (private / so_file.name).exists():
        copy_into_snapshot(cached, private / so_file.name)
    compiled = compile_or_load(text, so_file, private, None)
    if compiled is not None and not cached.exists():  # compiled here: keep it for the next load
        with contextlib.suppress(OSError):
            shared.mkdir(parents=True, exist_ok=True)
            partial = shared / f".{so_file.name}.{os.getpid()}.tmp"
            shutil.copyfile(private / so_file.name, partial)
            os.replace(partial, cached)  # whole or absent: another worker may be copying it at the same time
    return compiled


def load_current(root: Path, mmap: bool = False, compiled: bool = False, snapshot: bool = False) -> Bundle:
    """The bundle ``root/current`` names; with ``snapshot``, loaded from a shared verified copy under ``root``."""
    return load_bundle(current_bundle_dir(root), mmap=mmap, compiled=compiled, snapshot_into=root if snapshot else None)
