"""Collecting the reasons rows are rejected, and showing values inside those reasons.

A :class:`Problems` belongs to one batch of rows. Checks add a reason to every row a boolean mask selects; a
row with at least one reason is quarantined, its reasons joined with ``"; "`` in the order the checks ran.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import date, datetime

import numpy as np
import pandas as pd

_MAX_SHOWN = 60  # characters of a bad value quoted in a reason


class Problems:
    """Reasons per row (by position) for a batch of ``n`` rows."""

    def __init__(self, n: int) -> None:
        self.n = n
        self._by_row: dict[int, list[str]] = {}

    def add(self, mask: np.ndarray, message: str | Callable[[np.ndarray], Sequence[str]]) -> None:
        """Add ``message`` to every row selected by ``mask``.

        ``message`` is either one text for all of them or a function of the selected positions returning one
        text per position (so that messages are only formatted for the few rows that fail).
        """
        positions = np.flatnonzero(mask)
        if positions.size == 0:
            return
        texts: Sequence[str] = [message] * positions.size if isinstance(message, str) else message(positions)
        for pos, text in zip(positions.tolist(), texts, strict=True):
            self._by_row.setdefault(pos, []).append(text)

    def add_values(self, mask: np.ndarray, template: str, *columns: pd.Series | np.ndarray) -> None:
        """Add ``template``, its ``{}`` slots filled by :func:`show` of each column's value in that row."""

        def texts(positions: np.ndarray) -> list[str]:
            cells = [c.to_numpy(dtype=object) if isinstance(c, pd.Series) else c for c in columns]
            return [template.format(*(show(cell[p]) for cell in cells)) for p in positions]

        self.add(mask, texts)

    def add_at(self, position: int, message: str) -> None:
        self._by_row.setdefault(position, []).append(message)

    @property
    def bad(self) -> np.ndarray:
        """Boolean mask of rows with at least one reason."""
        mask = np.zeros(self.n, dtype=bool)
        if self._by_row:
            mask[list(self._by_row)] = True
        return mask

    def reasons(self, positions: np.ndarray) -> list[str]:
        """The joined reasons of the rows at ``positions``."""
        return ["; ".join(self._by_row.get(int(p), [])) for p in positions]


def show(value: object) -> str:
    """A value as quoted in a reason: text in quotes (shortened), numbers plain, datetimes ISO 8601."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, str):
        text = value if len(value) <= _MAX_SHOWN else value[: _MAX_SHOWN - 1] + "…"
        return repr(text)
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return number(value)
    if isinstance(value, pd.Timestamp | datetime | date):
        return when(value)
    text = repr(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 1] + "…"


def number(value: float | int) -> str:
    """A number without noise: ``5`` rather than ``5.0``, the shortest exact form otherwise."""
    value = float(value)
    if math.isfinite(value) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def when(value: object) -> str:
    """A timestamp in ISO 8601 (seconds, microseconds only when present)."""
    stamp = pd.Timestamp(value)  # type: ignore[arg-type]
    if stamp.microsecond:
        return stamp.strftime("%Y-%m-%dT%H:%M:%S.%f")
    return stamp.strftime("%Y-%m-%dT%H:%M:%S")


def singular(table: str) -> str:
    """``creators`` -> ``creator`` (table names are plain English plurals)."""
    return table[:-1] if table.endswith("s") else table
