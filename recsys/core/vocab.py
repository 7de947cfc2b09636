"""External id <-> row index, owned in one place (LensKit's ``Vocabulary`` idea)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd


class Vocabulary:
    """An ordered set of ids; row ``i`` of every aligned array belongs to ``ids[i]``."""

    def __init__(self, ids: Iterable[str]) -> None:
        self._index = pd.Index(
            np.asarray(list(ids) if not isinstance(ids, np.ndarray | pd.Index) else ids, dtype=object)
        )
        if not self._index.is_unique:
            raise ValueError("vocabulary ids must be unique")
        self._ids = self._index.to_numpy()  # plain object array: row -> id without pandas' per-call overhead

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, item: object) -> bool:
        return item in self._index

    @property
    def ids(self) -> np.ndarray:
        return self._ids

    @property
    def index(self) -> pd.Index:
        return self._index

    def row(self, item: str) -> int:
        """Row of one id; ``KeyError`` naming the id when unknown."""
        try:
            return int(self._index.get_loc(item))
        except KeyError:
            raise KeyError(item) from None

    def rows(self, items: Iterable[str]) -> np.ndarray:
        """Rows of many ids (-1 for unknown ones)."""
        return self._index.get_indexer(np.asarray(list(items), dtype=object)).astype(np.int64)

    def id(self, row: int) -> str:
        return str(self._ids[row])


def find_sorted(keys: np.ndarray, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions of ``wanted`` in the sorted array ``keys`` and whether each was found (position clipped to a valid
    index). The needles are searched in sorted order — each search then starts near the last one, about 2x faster
    than random order for 1,000 needles in millions of keys — and the positions are returned in the input order."""
    wanted = np.asarray(wanted)
    if len(keys) == 0:
        return np.zeros(len(wanted), np.int64), np.zeros(len(wanted), bool)
    order = np.argsort(wanted, kind="stable")
    pos = np.empty(len(wanted), np.int64)
    pos[order] = np.searchsorted(keys, wanted[order])
    pos = np.minimum(pos, len(keys) - 1)
    return pos, keys[pos] == wanted
