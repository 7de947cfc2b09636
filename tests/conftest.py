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
        serving=ServingSettings(compiled_models=False),  # tests/models/gbm/test_compiled.py covers compiled serving
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
