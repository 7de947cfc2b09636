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

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, item: object) -> bool:
        return item in self._index

    @property
    def ids(self) -> np.ndarray:
        return self._index.to_numpy()

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
        return str(self._index[row])
