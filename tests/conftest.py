"""Shared fixtures. Every random draw is seeded; data is tiny. One trained fixture bundle per test session."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

os.environ.setdefault("RECSYS_CONFIG", os.devnull)  # tests never read a developer's recsys.toml

hypothesis_settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True)
hypothesis_settings.load_profile("ci")


@dataclass
class FixtureBundle:
    """A small synthetic marketplace, the settings used, and the bundle trained on it."""

    market: object  # recsys.core.schema.Marketplace
    truth: object  # recsys.core.synth.GroundTruth
    settings: object  # recsys.core.config.Settings
    path: Path  # the bundle folder (also artifacts_dir/current)
    dataset_dir: Path


def small_settings(root: Path) -> object:
    from recsys.core.config import RankerSettings, RetrievalSettings, ServingSettings, Settings

    return Settings(
        data_dir=root / "data",
        artifacts_dir=root / "artifacts",
        runs_dir=root / "runs",
        ranker=RankerSettings(n_estimators=120, early_stopping_rounds=20, num_threads=2),
        retrieval=RetrievalSettings(distill_queries=60, recall_queries=15, candidates=300, recall_k=100),
        # compiled models: tests/models/gbm/test_compiled.py; the compliance warm-up would cost every app 1.5 s of CPU
        serving=ServingSettings(compiled_models=False, warm_up_compliance=False),
    )


@pytest.fixture(scope="session")
def fixture_bundle(tmp_path_factory: pytest.TempPathFactory) -> FixtureBundle:
    from models.bundle import save_bundle
    from models.training.train import train_engine
    from recsys.core.synth import SynthConfig, generate, write_synthetic

    root = tmp_path_factory.mktemp("fixture_bundle")
    synthetic = generate(SynthConfig(creators=300, products=1200, promotions=15_000, seed=5))
    write_synthetic(synthetic, root / "dataset")
    settings = small_settings(root)
    engine = train_engine(synthetic.market, settings, seed=5)  # type: ignore[arg-type]
    path = save_bundle(engine, settings.artifacts_dir, synthetic.market, 5, {}, compile_models=False)  # type: ignore[attr-defined]
    return FixtureBundle(synthetic.market, synthetic.truth, settings, path, root / "dataset")


# --- store back-ends (tests/backends.py) ----------------------------------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "backends(*names): run the tests on each named store back-end (sqlite, postgresql)"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests that use the ``backend`` fixture run once per back-end their module's ``backends`` mark names."""
    if "backend" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("backends")
        names = marker.args if marker else ("sqlite",)
        metafunc.parametrize("backend", names, indirect=True, scope="module")


@pytest.fixture(scope="module")
def backend(request: pytest.FixtureRequest) -> str:
    """``sqlite`` or ``postgresql`` (which skips, or fails under ``.ci/run``, without a server)."""
    from tests import backends

    name = str(getattr(request, "param", "sqlite"))
    if name == "postgresql":
        backends.server_url()
    return name


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say how many tests ran against PostgreSQL (and how many were skipped for want of a server)."""
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    for outcome in counts:
        for report in terminalreporter.stats.get(outcome, []):
            if "[postgresql" in getattr(report, "nodeid", "") or "-postgresql" in getattr(report, "nodeid", ""):
                counts[outcome] += 1
    if any(counts.values()):
        terminalreporter.write_line(
            f"PostgreSQL back-end: {counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped"
        )
