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
def settings(tmp_path: Path, backend: str) -> Iterator[Settings]:
    """Settings whose store is a fresh SQLite file or, for the ``postgresql`` back-end, a fresh database."""
    from tests import backends

    url = f"sqlite:///{tmp_path / 'data' / 'recsys.db'}" if backend == "sqlite" else backends.create_database()
    yield Settings(data_dir=tmp_path / "data", database_url=url)
    if backend == "postgresql":
        backends.drop_database(url)


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    store = Store.from_settings(settings)
    yield store
    store.dispose()


@pytest.fixture
def sample() -> dict[str, pd.DataFrame]:
    return marketplace()
