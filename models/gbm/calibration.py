"""Quantile maps: turn a model's raw output into "better than this share of the reference set", in [0, 1]."""

from __future__ import annotations

import numpy as np


class QuantileMap:
    """Empirical CDF of reference values on a fixed grid, stored as plain numbers (JSON-friendly).

    ``transform(x)`` is the share of the reference values below ``x``, interpolated, clipped to [0, 1].
    """

    def __init__(self, quantiles: np.ndarray) -> None:
        q = np.asarray(quantiles, dtype=np.float64)
        if q.ndim != 1 or q.size < 2 or np.any(np.diff(q) < 0):
            raise ValueError("quantiles must be a non-decreasing 1-D array of at least 2 values")
        self.quantiles = q
        self._grid = np.linspace(0.0, 1.0, q.size)
        # np.interp needs strictly increasing xp for a well-defined result on ties: nudge duplicates apart
        self._xp = q + np.arange(q.size) * 1e-12

    @classmethod
    def fit(cls, values: np.ndarray, points: int = 101) -> QuantileMap:
        v = np.asarray(values, dtype=np.float64)
        v = v[np.isfinite(v)]
        if v.size == 0:
            raise ValueError("cannot fit a quantile map on no finite values")
        return cls(np.quantile(v, np.linspace(0.0, 1.0, points)))

    def transform(self, x: np.ndarray) -> np.ndarray:
        return np.clip(np.interp(np.asarray(x, dtype=np.float64), self._xp, self._grid), 0.0, 1.0)

    def to_list(self) -> list[float]:
        return [float(v) for v in self.quantiles]
