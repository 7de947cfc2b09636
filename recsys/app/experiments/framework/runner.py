"""Run one offline experiment and write ``runs/<run_id>/`` (config, metrics, per-query frames, report, plots).

Application layer: resolves the adapter (``registry``), its typed config (defaults < ``--config`` file), runs
it with a seed, and records everything needed to reproduce and audit the figures.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shlex
import shutil
import subprocess
import tomllib
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from recsys.app.experiments.framework import registry, rundir
from recsys.app.experiments.framework.base import Adapter, ExperimentResult
from recsys.app.experiments.framework.plots import write_plots
from recsys.app.experiments.framework.report import render_report
from recsys.core.progress import stage
from recsys.core.provenance import library_versions, sha256_file

_VERSIONED = (
    "recsys-match",
    "numpy",
    "pandas",
    "scipy",
    "scikit-learn",
    "lightgbm",
    "faiss-cpu",
    "implicit",
    "matplotlib",
    "pyarrow",
    "pydantic",
)


class ConfigError(ValueError):
    """A ``--config`` file that cannot be read or does not fit the adapter's Config."""


@dataclass(frozen=True)
class RunOutput:
    run_id: str
    run_dir: Path
    result: ExperimentResult
    config: BaseModel


def load_overrides(path: Path) -> dict[str, Any]:
    """Read a TOML (``.toml``) or JSON (``.json``) file of Config overrides into a dict.

    A run's own ``config.json`` is accepted too: its ``config`` section is used, so
    ``--config runs/<run_id>/config.json`` repeats a run.
    """
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    text = path.read_text()
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        kind = "JSON" if path.suffix.lower() == ".json" else "TOML"
        raise ConfigError(f"config file {path} is not valid {kind}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a table/object of Config fields")
    if "run_id" in data and isinstance(data.get("config"), dict):
        return dict(data["config"])
    return data


def resolve_config(adapter: Adapter, overrides: dict[str, Any] | None = None) -> BaseModel:
    """The adapter's Config with ``overrides`` applied; unknown keys and invalid values raise ConfigError."""
    overrides = dict(overrides or {})
    config_cls = adapter.Config
    known = set(config_cls.model_fields) | {f.alias for f in config_cls.model_fields.values() if f.alias is not None}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ConfigError(
            f"unknown config key(s) for dataset {adapter.DATASET!r}: {', '.join(unknown)}; "
            f"valid keys: {', '.join(sorted(config_cls.model_fields))}"
        )
    try:
        return config_cls.model_validate(overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or '(config)'}: {e['msg']} (got {e.get('input')!r})" for e in exc.errors()
        )
        raise ConfigError(f"invalid config for dataset {adapter.DATASET!r}: {problems}") from exc


def config_hash(dataset: str, config: dict[str, Any], seed: int) -> str:
    """6 hex characters identifying (dataset, resolved config, seed)."""
    canonical = json.dumps({"dataset": dataset, "config": config, "seed": seed}, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:6]


def make_run_id(dataset: str, config: dict[str, Any], seed: int, now: datetime | None = None) -> str:
    """``<dataset>-<UTC yyyymmdd-HHMMSS>-<6 hex of config+seed>``."""
    now = now or datetime.now(UTC)
    return f"{dataset}-{now.astimezone(UTC):%Y%m%d-%H%M%S}-{config_hash(dataset, config, seed)}"


def git_state(repo: Path | None = None) -> dict[str, Any]:
    """Commit and dirty flag of the checkout this package runs from (None values when not a git checkout)."""
    repo = repo or Path(__file__).resolve().parents[4]  # framework/ -> experiments/ -> app/ -> recsys/ -> repo
    try:
        commit = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        status = subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
    return {"commit": commit, "dirty": bool(status.strip())}


def data_fingerprint(data_dir: Path, subdir: str | None) -> dict[str, str]:
    """sha256 of every file the dataset's folder holds ({relative path: hex}); empty when it has none."""
    if subdir is None or not (data_dir / subdir).is_dir():
        return {}
    hashes = {}
    for file in sorted((data_dir / subdir).rglob("*")):
        if file.is_file():
            hashes[str(file.relative_to(data_dir))] = sha256_file(file)
    return hashes


def _maybe_stage(description: str, show: bool) -> AbstractContextManager[None]:
    return stage(description) if show else nullcontext()


def settings_environment() -> dict[str, str]:
    """The settings this process's environment sets besides the experiment's config: ``RECSYS_CONFIG`` and the
    ``RECSYS_<SECTION>__<FIELD>`` variables (e.g. ``RECSYS_MATCHING__RETRIEVAL_BLEND``), by name. Not the others
    (``RECSYS_DATABASE_URL`` may hold a password; test switches are not settings)."""
    return {
        k: v for k, v in sorted(os.environ.items()) if k == "RECSYS_CONFIG" or (k.startswith("RECSYS_") and "__" in k)
    }


def _command(dataset: str, seed: int, run_dir: Path, environment: dict[str, str]) -> str:
    prefix = "".join(f"{k}={shlex.quote(v)} " for k, v in environment.items())
    return f"{prefix}recsys experiment --dataset {dataset} --seed {seed} --config {run_dir / rundir.CONFIG_FILE}"


def _reserve_name(runs_dir: Path, run_id: str) -> str:
    """``run_id`` or, if that run exists or another process holds the name, ``run_id-2``, ``-3``, ... (never
    overwrite a run). The name is held by a ``.reserved-<name>`` file created exclusively, so two runs started in
    the same second with the same config (a sweep over environment settings) take different names."""
    candidate, n = run_id, 1
    while True:
        if not (runs_dir / candidate).exists():
            try:
                (runs_dir / f".reserved-{candidate}").open("x").close()
                return candidate
            except FileExistsError:
                pass
        n += 1
        candidate = f"{run_id}-{n}"


def write_run(
    runs_dir: Path,
    run_id: str,
    dataset: str,
    result: ExperimentResult,
    config: BaseModel,
    seed: int,
    data_dir: Path,
    created: datetime,
) -> Path:
    """Write every file of the run into a hidden temporary folder, then rename it to ``runs_dir/<run_id>``, so
    a failed write never leaves a half run behind. Returns the run directory."""
    rundir.validate_result(result)
    runs_dir.mkdir(parents=True, exist_ok=True)
    run_id = _reserve_name(runs_dir, run_id)
    final = runs_dir / run_id
    tmp = runs_dir / f".partial-{run_id}"
    environment = settings_environment()
    try:
        shutil.rmtree(tmp, ignore_errors=True)  # a crashed earlier run's leftovers: the name is ours now
        tmp.mkdir()
        meta = {
            "run_id": run_id,
            "dataset": dataset,
            "seed": seed,
            "config": config.model_dump(mode="json"),
            "data_dir": str(data_dir.resolve()),
            "data_files": data_fingerprint(data_dir, registry.data_subdir(dataset)),
            "git": git_state(),
            "created_utc": f"{created:%Y-%m-%d %H:%M:%S}",
            "versions": library_versions(_VERSIONED),
            "platform": platform.platform(),
            "environment": environment,
            "command": _command(dataset, seed, final, environment),
        }
        rundir.dump_json(tmp / rundir.CONFIG_FILE, meta)
        rundir.dump_json(tmp / rundir.METRICS_FILE, rundir.metrics_document(result))
        rundir.write_per_query(tmp, result)
        plots = write_plots(result, tmp)
        (tmp / rundir.REPORT_FILE).write_text(render_report(result, meta, plots))
        tmp.rename(final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        (runs_dir / f".reserved-{run_id}").unlink(missing_ok=True)
    return final


def run_experiment(
    dataset: str,
    seed: int,
    data_dir: Path,
    runs_dir: Path,
    overrides: dict[str, Any] | None = None,
    show_progress: bool = True,
) -> RunOutput:
    """Resolve the adapter and config, run it, write ``runs_dir/<run_id>/`` and return where it went.

    ``show_progress=False`` hides the runner's own spinners (e.g. in a notebook without ipywidgets).
    """
    adapter = registry.get_adapter(dataset)
    config = resolve_config(adapter, overrides)
    created = datetime.now(UTC)
    run_id = make_run_id(dataset, config.model_dump(mode="json"), seed, created)
    with _maybe_stage(f"experiment {dataset} (seed {seed})", show_progress):
        result = adapter.run(config, seed, data_dir)
    if not isinstance(result, ExperimentResult):
        raise rundir.ResultError(f"adapter for {dataset!r} returned {type(result).__name__}, not ExperimentResult")
    with _maybe_stage("writing report and plots", show_progress):
        run_dir = write_run(runs_dir, run_id, dataset, result, config, seed, data_dir, created)
    return RunOutput(run_id=run_dir.name, run_dir=run_dir, result=result, config=config)
