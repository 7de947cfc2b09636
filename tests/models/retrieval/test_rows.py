"""Rows of a mapped vector file read without the mapping (``RowFile.read_rows``, ``RowFile.every``): the same values
as indexing or slicing the array, whatever the piece size the file is read in."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models.retrieval.ann import VectorIndex


@pytest.mark.parametrize(("n", "step", "block", "piece_bytes"), [(1_000, 1, 65_536, 1 << 23), (1_003, 3, 50, 200)])
def test_every_step_th_row_read_from_the_file_equals_the_strided_slices(
    tmp_path: Path, n: int, step: int, block: int, piece_bytes: int
) -> None:
    vectors = np.random.default_rng(0).normal(size=(n, 7)).astype(np.float32)
    VectorIndex(kind="flat").fit(vectors).save(tmp_path, "x")
    index = VectorIndex.load(tmp_path, "x", mmap=True)
    assert index.row_file_ is not None
    got = list(index.row_file_.every(step, n, block, piece_bytes))
    expected = [vectors[start : start + block * step : step] for start in range(0, n, block * step)]
    assert len(got) == len(expected)
    for a, b in zip(got, expected, strict=True):
        assert np.array_equal(a, b)
    assert [len(b) for b in index.every(step, block)] == [len(b) for b in expected]
    rows = np.array([5, 0, n - 1, 5, 17])
    assert np.array_equal(index.rows(rows), vectors[rows])
    assert index.rows(rows[:0]).shape == (0, 7)
