"""Calibrated GMV of a new collaboration, with an 80% interval.

The GMV model (tweedie LightGBM) orders pairs well but its scale is off where lists live: fitted on every promoted
pair, it under-predicts big hits and over-predicts ordinary pairs. :class:`GMVCalibrator` maps its raw prediction to
the mean realized GMV of *new* collaborations of a held-out window (isotonic regression, scikit-learn), and adds an
interval by split conformal prediction per bin of the calibrated value (Mondrian): in each bin, the realized/predicted
ratios of the calibration pairs give the lower and upper multipliers at the conformal quantile levels, so the
interval's width follows how uncertain pairs of that size really are.

Learned state is a few numbers (JSON, no pickle): the isotonic steps, the bin edges and each bin's multipliers.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.isotonic import IsotonicRegression

CALIBRATION_FILE = "gmv_calibration.json"


@dataclass(frozen=True)
class CalibratedGMV:
    """Per row: the calibrated expected GMV and its interval (same unit and horizon)."""

    expected: np.ndarray
    low: np.ndarray
    high: np.ndarray


def conformal_bounds(scores: np.ndarray, coverage: float) -> tuple[float, float]:
    """Split-conformal bounds from ``n`` calibration scores (here: realized/predicted ratios, ≥ 0).

    The lower bound is the ``floor((n + 1) a / 2)``-th smallest score (a = 1 − coverage; 1-based; 0 when that rank
    is 0 — scores are never negative). The upper bound counts ``ceil((n + 1) · coverage)`` scores from the first
    one equal to the lower bound, so that the interval holds that many order statistics and covers a new score
    with probability ≥ ``coverage``, also when many scores tie at the bottom (collaborations that sold nothing: a
    symmetric split would then cover far more than asked). Past the largest score, the largest (too few scores to
    bound it; more calibration data fixes that)."""
    ordered = np.sort(np.asarray(scores, dtype=np.float64))
    n = len(ordered)
    if n == 0:
        raise ValueError("conformal bounds need at least one score")
    k_lo = math.floor((n + 1) * (1.0 - coverage) / 2)
    low = float(ordered[k_lo - 1]) if k_lo >= 1 else 0.0
    first = int(np.searchsorted(ordered, low, side="left"))  # 0-based index of the first score equal to low
    last = first + math.ceil((n + 1) * coverage)  # 1-based rank of the upper bound
    return low, float(ordered[min(last, n) - 1])


class GMVCalibrator:
    """Raw GMV predictions → calibrated expected GMV and a ``coverage`` interval.

    Parameters
    ----------
    coverage : the interval's target coverage (0.8 = 80% of new collaborations land inside).
    bins : Mondrian bins of the calibrated value (quantile edges of the calibration set).
    min_per_bin : fewer calibration pairs than ``bins * min_per_bin`` means fewer bins (at least one).
    horizon_days : the target's horizon (the label window the GMV model learnt), recorded for the API's wording.
    """

    def __init__(self, coverage: float = 0.8, bins: int = 10, min_per_bin: int = 50, horizon_days: int = 30) -> None:
        self.coverage = coverage
        self.bins = bins
        self.min_per_bin = min_per_bin
        self.horizon_days = horizon_days

    def fit(self, raw: np.ndarray, realized: np.ndarray) -> GMVCalibrator:
        """``raw``: the GMV model's predictions of shape (n_pairs,); ``realized``: their realized GMV (n_pairs,)."""
        raw = np.asarray(raw, dtype=np.float64)
        realized = np.asarray(realized, dtype=np.float64)
        ok = np.isfinite(raw) & np.isfinite(realized)
        raw, realized = raw[ok], np.maximum(realized[ok], 0.0)
        if len(raw) < 2:
            raise ValueError(f"calibration needs at least 2 pairs with finite values, got {len(raw)}")
        iso = IsotonicRegression(y_min=0.0, increasing=True, out_of_bounds="clip").fit(raw, realized)
        self.x_ = np.asarray(iso.X_thresholds_, dtype=np.float64)
        self.y_ = np.asarray(iso.y_thresholds_, dtype=np.float64)
        self.n_calibration_ = len(raw)
        expected = self._expected(raw)
        n_bins = int(max(1, min(self.bins, len(raw) // self.min_per_bin)))
        inner = np.quantile(expected, np.linspace(0, 1, n_bins + 1)[1:-1]) if n_bins > 1 else np.empty(0)
        self.edges_ = np.unique(inner)
        which = np.searchsorted(self.edges_, expected, side="right")
        lows, highs = [], []
        for b in range(len(self.edges_) + 1):
            ratio = realized[which == b] / np.maximum(expected[which == b], 1e-9)
            if len(ratio) == 0:  # an empty bin (ties): no spread known, the interval is the point
                lows.append(1.0)
                highs.append(1.0)
                continue
            low, high = conformal_bounds(ratio, self.coverage)
            lows.append(low)
            highs.append(high)
        self.low_ratio_ = np.array(lows)
        self.high_ratio_ = np.array(highs)
        return self

    def _expected(self, raw: np.ndarray) -> np.ndarray:
        if len(self.x_) == 1:
            return np.full(len(raw), self.y_[0])
        return np.interp(raw, self.x_, self.y_)

    def predict(self, raw: np.ndarray) -> CalibratedGMV:
        """Calibrated expected GMV and its interval for raw predictions of shape (n_rows,)."""
        raw = np.asarray(raw, dtype=np.float64)
        expected = self._expected(raw)
        which = np.searchsorted(self.edges_, expected, side="right")
        return CalibratedGMV(expected, expected * self.low_ratio_[which], expected * self.high_ratio_[which])

    # --- persistence (JSON) -------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, object]:
        return {
            "coverage": self.coverage,
            "bins": self.bins,
            "min_per_bin": self.min_per_bin,
            "horizon_days": self.horizon_days,
            "n_calibration": self.n_calibration_,
            "x": self.x_.tolist(),
            "y": self.y_.tolist(),
            "edges": self.edges_.tolist(),
            "low_ratio": self.low_ratio_.tolist(),
            "high_ratio": self.high_ratio_.tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> GMVCalibrator:
        obj = cls(
            coverage=float(data["coverage"]),  # type: ignore[arg-type]
            bins=int(data["bins"]),  # type: ignore[call-overload]
            min_per_bin=int(data["min_per_bin"]),  # type: ignore[call-overload]
            horizon_days=int(data["horizon_days"]),  # type: ignore[call-overload]
        )
        obj.n_calibration_ = int(data["n_calibration"])  # type: ignore[call-overload]
        for name in ("x", "y", "edges", "low_ratio", "high_ratio"):
            setattr(obj, f"{name}_", np.asarray(data[name], dtype=np.float64))
        return obj

    def save(self, directory: Path) -> None:
        (directory / CALIBRATION_FILE).write_text(json.dumps(self.to_dict()))

    @classmethod
    def load(cls, directory: Path) -> GMVCalibrator:
        return cls.from_dict(json.loads((directory / CALIBRATION_FILE).read_text()))


def calibration_table(
    predicted: np.ndarray, realized: np.ndarray, low: np.ndarray, high: np.ndarray, bins: int = 10
) -> pd.DataFrame:
    """By decile of predicted value: pairs, mean predicted, mean realized, realized/predicted, interval coverage."""
    predicted, realized = np.asarray(predicted, dtype=np.float64), np.asarray(realized, dtype=np.float64)
    order = np.argsort(predicted, kind="stable")
    decile = np.empty(len(predicted), dtype=np.int64)
    decile[order] = np.arange(len(predicted)) * bins // max(len(predicted), 1)
    inside = (realized >= low) & (realized <= high)
    frame = pd.DataFrame({"decile": decile + 1, "predicted": predicted, "realized": realized, "inside": inside})
    table = frame.groupby("decile").agg(
        pairs=("predicted", "size"),
        mean_predicted=("predicted", "mean"),
        mean_realized=("realized", "mean"),
        coverage=("inside", "mean"),
    )
    table["realized_over_predicted"] = table["mean_realized"] / table["mean_predicted"].where(
        table["mean_predicted"] > 0
    )
    return table
