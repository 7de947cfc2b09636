"""Provenance of artifacts and runs: file checksums and the versions of the libraries that produced them."""

from __future__ import annotations

import hashlib
import platform
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

CORE_LIBRARIES: tuple[str, ...] = (
    "numpy",
    "pandas",
    "scipy",
    "scikit-learn",
    "lightgbm",
    "faiss-cpu",
    "pyarrow",
    "pydantic",
)


def sha256_file(path: Path) -> str:
    """sha256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_problem(directory: Path, files: dict[str, str]) -> str | None:
    """The first file of ``files`` (relative path -> sha256, as a manifest records them) that is missing from
    ``directory`` or changed since it was written, in words; None when every file is as recorded."""
    for rel, digest in files.items():
        path = directory / rel
        if not path.is_file():
            return f"file {rel} is missing"
        if sha256_file(path) != digest:
            return f"file {rel} changed since it was written (sha256 differs from the manifest)"
    return None


def library_versions(names: Iterable[str] = CORE_LIBRARIES) -> dict[str, str]:
    """Python's version and each installed library's ("missing" when not installed)."""
    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "missing"
    return versions
