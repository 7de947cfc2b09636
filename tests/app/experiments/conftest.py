"""Fixtures for the experiment framework: the toy adapter registered as dataset "toy", and a runs folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from recsys.app.experiments.registry import registered_adapter
from tests.app.experiments import toy_adapter


@pytest.fixture
def toy() -> Iterator[str]:
    """The dataset name under which the toy adapter is registered for the test."""
    with registered_adapter("toy", toy_adapter):  # type: ignore[arg-type]
        yield "toy"


@pytest.fixture
def runs_dir(tmp_path: Path) -> Path:
    return tmp_path / "runs"
