"""The serving test bed: the session's fixture bundle behind a fresh store, with keys for every role.

The dataset is imported once per session into a "golden" SQLite store (orders left out: 1.9M rows the service never
reads); each module that writes gets its own copy of that store file and of the artifacts folder, so tests never
see each other's plans, events or reloads. A module marked ``pytest.mark.backends("sqlite", "postgresql")`` runs
again on PostgreSQL: the golden store copied once into a database, each module's store a copy of that database.
"""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

with warnings.catch_warnings():  # starlette suggests httpx2; the TestClient works the same on httpx
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from tests.serving.world import World, find_world


@dataclass(frozen=True)
class Env:
    """Settings for one copy of the test bed, plus the entities and keys tests use."""

    settings: object  # recsys.core.config.Settings
    world: World
    root: Path


def _settings(root: Path, base: object) -> object:
    from recsys.core.config import ServingSettings

    return base.model_copy(  # type: ignore[attr-defined]
        update={
            "data_dir": root / "data",
            "artifacts_dir": root / "artifacts",
            "runs_dir": root / "runs",
            "serving": ServingSettings(refresh_seconds=0.2, default_k=10, warm_up_compliance=False),
        }
    )


@pytest.fixture(scope="session")
def golden(fixture_bundle, tmp_path_factory: pytest.TempPathFactory) -> Env:  # type: ignore[no-untyped-def]
    from models.bundle import set_current
    from recsys.core.datasets.importer import import_dataset
    from recsys.core.store import Store

    root = tmp_path_factory.mktemp("serving_golden")
    dataset = root / "dataset"
    dataset.mkdir()
    for path in fixture_bundle.dataset_dir.iterdir():
        if path.is_file() and path.stem != "orders":
            shutil.copy(path, dataset / path.name)
    settings = _settings(root, fixture_bundle.settings)
    shutil.copytree(fixture_bundle.path, settings.artifacts_dir / fixture_bundle.path.name)  # type: ignore[attr-defined]
    set_current(settings.artifacts_dir, fixture_bundle.path.name)  # type: ignore[attr-defined]
    store = Store.from_settings(settings)  # type: ignore[arg-type]
    report = import_dataset(store, dataset, settings, progress=False)  # type: ignore[arg-type]
    assert report.quarantined == 0
    world = find_world(settings, store)
    store.dispose()
    return Env(settings, world, root)


def copy_env(golden: Env, root: Path) -> Env:
    """A private copy of the golden store and artifacts under ``root``."""
    settings = _settings(root, golden.settings)
    shutil.copytree(golden.root / "data", root / "data")
    shutil.copytree(golden.root / "artifacts", root / "artifacts")
    return replace(golden, settings=settings, root=root)


@pytest.fixture(scope="session")
def golden_database(golden: Env) -> Iterator[str]:
    """The golden store copied into a PostgreSQL database (the template of every module's database)."""
    from tests import backends

    url = backends.create_database()
    backends.copy_store(golden.settings.resolved_database_url, url)  # type: ignore[attr-defined]
    yield backends.database_name(url)
    backends.drop_database(url)


@pytest.fixture(scope="module")
def env(
    golden: Env, backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Env]:
    copy = copy_env(golden, tmp_path_factory.mktemp("serving_env"))
    if backend == "sqlite":
        yield copy
        return
    from tests import backends

    url = backends.create_database(template=request.getfixturevalue("golden_database"))
    settings = copy.settings.model_copy(update={"database_url": url})  # type: ignore[attr-defined]
    yield replace(copy, settings=settings)
    backends.drop_database(url)


@pytest.fixture(scope="module")
def app(env: Env):  # type: ignore[no-untyped-def]
    from serving.app import create_app

    return create_app(env.settings)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app) as test_client:
        yield test_client


def key(world: World, who: str) -> dict[str, str]:
    """Headers for one of the world's keys (``admin``, ``creator``, ``other_creator``, ``merchant``, ...)."""
    return {"X-API-Key": world.keys[who]}
