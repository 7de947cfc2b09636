"""Fixtures for dataset tests: settings and a store under tmp_path, the small sample marketplace."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from recsys.core.config import Settings
from recsys.core.store import Store
from tests.core.datasets.sample import marketplace


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=f"sqlite:///{tmp_path / 'data' / 'recsys.db'}")


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    store = Store.from_settings(settings)
    yield store
    store.dispose()


@pytest.fixture
def sample() -> dict[str, pd.DataFrame]:
    return marketplace()
