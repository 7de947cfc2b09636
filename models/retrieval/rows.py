"""Row-level helpers of :class:`models.retrieval.ann.VectorIndex`: one-row reads of a mapped matrix, the Euclidean
reduction's lifting coordinate, and exact top-k over a subset of rows."""

from __future__ import annotations

import os
import weakref
from collections.abc import Iterator

import numpy as np


class RowFile:
    """Where a memory-mapped matrix's rows sit in its ``.npy`` file, for reading one row without the mapping: a
    fault on a mapped file brings a whole page-cache folio into the process (~1 MiB measured per random row of
    the 1M product vectors), so a request that reads one vector grew every worker's RSS by a megabyte.

    The file stays open while this object lives: a reload removes the old bundle's serving copy while requests of
    the old state may still be reading rows, and an open descriptor keeps the file's data (reading by path then
    failed with FileNotFoundError, a 500). Pickled (a Dask worker) as its path, opened again on arrival."""

    def __init__(self, path: str, offset: int, row_bytes: int, dtype: np.dtype) -> None:
        self.path, self.offset, self.row_bytes, self.dtype = path, offset, row_bytes, dtype
        self._fd = os.open(path, os.O_RDONLY)
        self._closer = weakref.finalize(self, os.close, self._fd)

    def __getstate__(self) -> dict[str, object]:
        return {"path": self.path, "offset": self.offset, "row_bytes": self.row_bytes, "dtype": self.dtype}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__init__(**state)  # type: ignore[misc]

    def read(self, row: int) -> np.ndarray:
        data = os.pread(self._fd, self.row_bytes, self.offset + row * self.row_bytes)
        if len(data) != self.row_bytes:
            raise OSError(f"{self.path}: row {row} is cut short")
        return np.frombuffer(data, dtype=self.dtype)

    def read_rows(self, rows: np.ndarray) -> np.ndarray:
        """Rows ``rows`` (in that order) as one read-only (n, row length) array, each row read on its own: a rerank
        block's 200 candidate vectors gathered through the mapping made all 1M product vectors resident in every
        worker."""
        at = np.asarray(rows, dtype=np.int64).tolist()
        data = b"".join(os.pread(self._fd, self.row_bytes, self.offset + row * self.row_bytes) for row in at)
        if len(data) != len(at) * self.row_bytes:
            raise OSError(f"{self.path}: a row of {len(at)} is cut short")
        return np.frombuffer(data, dtype=self.dtype).reshape(len(at), self.row_bytes // self.dtype.itemsize)

    def every(self, step: int, n_rows: int, block: int = 65_536, piece_bytes: int = 1 << 23) -> Iterator[np.ndarray]:
        """Every ``step``-th row of the first ``n_rows``, ``block`` of them at a time (the blocks a strided slice of
        the mapping would give), read in pieces of about ``piece_bytes`` (a multiple of ``step`` rows)."""
        dim = self.row_bytes // self.dtype.itemsize
        per_piece = max(1, piece_bytes // self.row_bytes // step) * step
        for start in range(0, n_rows, block * step):
            stop, parts = min(n_rows, start + block * step), []
            for at in range(start, stop, per_piece):
                count = min(per_piece, stop - at)
                data = os.pread(self._fd, count * self.row_bytes, self.offset + at * self.row_bytes)
                if len(data) != count * self.row_bytes:
                    raise OSError(f"{self.path}: rows {at}-{at + count} are cut short")
                parts.append(np.frombuffer(data, dtype=self.dtype).reshape(count, dim)[::step])
            yield np.concatenate(parts)


def strided_blocks(vectors: np.ndarray, step: int, block: int = 65_536) -> Iterator[np.ndarray]:
    """Every ``step``-th row of ``vectors``, ``block`` of them at a time (what :meth:`RowFile.every` reads from a
    file)."""
    for start in range(0, len(vectors), block * step):
        yield np.asarray(vectors[start : start + block * step : step])


def squared_norms(vectors: np.ndarray, chunk: int = 65_536) -> np.ndarray:
    """Row squared norms in float64, a chunk at a time (no float64 copy of a 1M-row matrix)."""
    out = np.empty(len(vectors), np.float64)
    for start in range(0, len(vectors), chunk):
        part = vectors[start : start + chunk].astype(np.float64)
        out[start : start + chunk] = np.einsum("ij,ij->i", part, part)
    return out


def lifted_width(dim: int, multiple: int = 8) -> int:
    """The width an IVF index stores ``dim``-dimensional vectors at: one lifting coordinate, then zeros up to a
    multiple of ``multiple``. FAISS's half-float distance code runs its SIMD kernels only on such widths and falls
    back to one coordinate at a time on any other: over the 1M bench products (112 dimensions, 24 of 1,000 lists
    probed) a search took 3.24 ms at width 113 and 0.66 ms at 120 (``bench/PROFILE.md``)."""
    return -(-(dim + 1) // multiple) * multiple


def lifted(
    vectors: np.ndarray, mips_norm: float | None, squared: np.ndarray | None = None, width: int | None = None
) -> np.ndarray:
    """``vectors`` with one more coordinate: ``sqrt(mips_norm - |v|^2)`` (0 where negative), or 0 for queries
    (``mips_norm`` None); then zeros up to ``width`` coordinates (default: none). ``squared``: the rows' squared
    norms when already known."""
    dim = vectors.shape[1]
    width = dim + 1 if width is None else width
    if width <= dim:
        raise ValueError(f"a lifted width must exceed the vectors' {dim} dimensions, got {width}")
    out = np.zeros((len(vectors), width), np.float32)
    out[:, :dim] = vectors
    if mips_norm is not None:
        squared = squared_norms(vectors) if squared is None else squared
        out[:, dim] = np.sqrt(np.maximum(mips_norm - squared, 0.0))
    return out


def subset_topk(vectors: np.ndarray, rows: np.ndarray, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    scores = vectors[rows] @ query
    k = min(k, rows.size)
    if k == 0:
        return np.empty(0, np.float32), np.empty(0, np.int64)
    top = np.argpartition(-scores, k - 1)[:k]
    top = top[np.lexsort((rows[top], -scores[top]))]
    return scores[top].astype(np.float32), rows[top].astype(np.int64)
