"""Cache files: written whole, and kept to the newest few of a kind."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from recsys.core.atomic import keep_newest, save_npz


def test_save_npz_reads_back_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "deeper" / "x.npz"
    save_npz(target, {"a": np.arange(3), "b": np.array([1.5])})
    with np.load(target, allow_pickle=False) as data:
        assert data["a"].tolist() == [0, 1, 2] and data["b"].tolist() == [1.5]
    assert [p.name for p in target.parent.iterdir()] == ["x.npz"]


def test_keep_newest_keeps_the_most_recent_of_its_kind_only(tmp_path: Path) -> None:
    for i in range(5):
        for kind in ("plans", "cold"):
            path = tmp_path / f"{kind}-{i}.npz"
            path.write_bytes(b"x")
            os.utime(path, ns=(i * 10**9, i * 10**9))
    keep_newest(tmp_path, "plans-*.npz", 2)
    assert sorted(p.name for p in tmp_path.glob("plans-*")) == ["plans-3.npz", "plans-4.npz"]
    assert len(list(tmp_path.glob("cold-*"))) == 5  # another kind is not touched
    keep_newest(tmp_path / "missing", "plans-*.npz", 2)  # no folder: nothing to do
