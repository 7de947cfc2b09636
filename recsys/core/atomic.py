"""Files that appear whole or not at all: written aside, then renamed into place."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np


def save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """``arrays`` as one uncompressed ``.npz`` at ``path`` (no pickle), its folder made when missing. Written to a
    name of this process and thread, then renamed: concurrent writers of the same file leave one whole copy."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{os.getpid()}-{threading.get_ident()}-{path.name}")
    try:
        with tmp.open("wb") as handle:
            np.savez(handle, allow_pickle=False, **arrays)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
