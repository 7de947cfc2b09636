"""Fixtures of the experiment tests: the toy adapter registered as dataset "toy", a runs folder, and tiny
seeded user–item data folders (ml-100k and Amazon Beauty formats)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from recsys.app.experiments.framework.registry import registered_adapter
from tests.app.experiments import toy_adapter
from tests.app.experiments.user_item_data import chained_beauty, clustered_movielens


@pytest.fixture
def toy() -> Iterator[str]:
    """The dataset name under which the toy adapter is registered for the test."""
    with registered_adapter("toy", toy_adapter):  # type: ignore[arg-type]
        yield "toy"


@pytest.fixture
def runs_dir(tmp_path: Path) -> Path:
    return tmp_path / "runs"


@pytest.fixture
def movielens_dir(tmp_path: Path) -> Path:
    """A data folder holding a tiny clustered ml-100k in RecBole's atomic format."""
    clustered_movielens(tmp_path, seed=7)
    return tmp_path


@pytest.fixture
def beauty_dir(tmp_path: Path) -> Path:
    """A data folder holding tiny chained Amazon Beauty sequences in S3-Rec's format."""
    chained_beauty(tmp_path, seed=11)
    return tmp_path
