"""The answer of plan resolution for aligned (creator, product) pairs, and the row checks of its queries.

:class:`PairResolution` is what every :class:`recsys.core.rules.planbook.PlanBook` query returns; it is re-exported
from ``recsys.core.rules.planbook`` and ``recsys.core.rules``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recsys.core.rules import _pairs
from recsys.core.rules.reasons import REASON_CODES
from recsys.core.schema import PLAN_TYPES

_REASON_OBJECTS = np.array([*REASON_CODES, None], dtype=object)


@dataclass(frozen=True)
class PairResolution:
    """Plan resolution for aligned (creator, product) pairs. Arrays have one entry per pair.

    eligible : bool — a joinable plan exists and creator and merchant are admitted
    plan_row : int64 — effective plan's row in the plans frame, -1 if not eligible
    plan_type : int8 — index into ``recsys.core.schema.PLAN_TYPES``, -1 if not eligible
    rate : float64 — effective commission rate, NaN if not eligible
    reason : int16 — index into ``REASON_CODES`` of the first refusal reason, -1 if eligible
    entries : the joinable plans of each pair, so that :meth:`PlanBook.project` re-chooses with predicted units
    """

    eligible: np.ndarray
    plan_row: np.ndarray
    plan_type: np.ndarray
    rate: np.ndarray
    reason: np.ndarray
    entries: _pairs.Entries

    def reason_codes(self) -> list[str | None]:
        return self.reason_array().tolist()

    def reason_array(self) -> np.ndarray:
        """:meth:`reason_codes` as an object array (one gather, not a Python loop over the pairs)."""
        return _REASON_OBJECTS[np.where(self.reason >= 0, self.reason, -1)]  # -1 (eligible): the last slot, None

    def take(self, idx: np.ndarray) -> PairResolution:
        """The resolution of the pairs at positions ``idx`` (an index or a boolean mask)."""
        idx = np.flatnonzero(idx) if idx.dtype == bool else idx
        return PairResolution(
            self.eligible[idx],
            self.plan_row[idx],
            self.plan_type[idx],
            self.rate[idx],
            self.reason[idx],
            self.entries.take(idx),
        )

    def plan_type_names(self) -> list[str | None]:
        return [PLAN_TYPES[t] if t >= 0 else None for t in self.plan_type.tolist()]


def row_numbers(rows: np.ndarray | int, n: int, what: str) -> np.ndarray:
    """``rows`` as int64 row numbers, each checked to lie in ``[0, n)`` (``what`` names the argument in errors)."""
    arr = np.atleast_1d(np.asarray(rows))
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{what} must be integer row numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.int64, copy=False)
    if arr.size and (arr.min() < 0 or arr.max() >= n):
        bad = int(arr[(arr < 0) | (arr >= n)][0])
        raise IndexError(f"{what} holds row {bad}, outside the {n} rows the PlanBook was built with")
    return arr


def per_row_values(values: np.ndarray | None, n: int, what: str) -> np.ndarray:
    """``values`` as float64, one per row (zeros when ``None``); ``what`` names the argument in errors."""
    if values is None:
        return np.zeros(n, dtype=np.float64)
    arr = np.asarray(values, dtype=np.float64)
    if arr.shape != (n,):
        raise ValueError(f"{what} must have one value per row ({n}), got shape {arr.shape}")
    return arr
