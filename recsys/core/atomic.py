"""Files that appear whole or not at all (written aside, then renamed into place), and caches of such files kept to
their newest few."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import numpy as np


def save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """``arrays`` as one uncompressed ``.npz`` at ``path`` (no pickle), its folder made when missing. Written to a
    name of this process and thread, then renamed: concurrent writers of the same file leave one whole copy."""
    _write_aside(path, lambda handle: np.savez(handle, allow_pickle=False, **arrays))


def save_npy(path: Path, array: np.ndarray) -> None:
    """``array`` as one ``.npy`` at ``path`` (no pickle; a reader may map it), written aside like :func:`save_npz`."""
    _write_aside(path, lambda handle: np.save(handle, array, allow_pickle=False))


def _write_aside(path: Path, write: Callable[[BinaryIO], None]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{os.getpid()}-{threading.get_ident()}-{path.name}")
    try:
        with tmp.open("wb") as handle:
            write(handle)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def keep_newest(folder: Path, pattern: str, keep: int) -> None:
    """Delete all but the ``keep`` most recently written files of ``folder`` matching ``pattern`` (a cache's older
    entries; a file another process removes meanwhile is no error)."""
    found = []
    for path in folder.glob(pattern):
        with contextlib.suppress(OSError):
            found.append((path.stat().st_mtime, path))
    for _, stale in sorted(found, reverse=True)[keep:]:
        with contextlib.suppress(OSError):
            stale.unlink()
