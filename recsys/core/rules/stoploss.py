"""Stop-loss: flag collaborations (promotions) whose realized GPM stays far below the predicted GPM.

GPM = GMV per 1,000 views. A promotion is flagged (so the merchant can pause it) when it has at least
``stop_loss_min_views`` views (default 10,000) and ``realized GPM < stop_loss_gpm_ratio x predicted GPM``
(default 0.3). Unflagged rows carry an informational reason when they could not be judged: too few views
(``stop_loss_insufficient_views``) or no positive prediction (``stop_loss_no_prediction``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from recsys.core.config import RulesSettings

_FLAG = "stop_loss_gpm_below_prediction"
_FEW_VIEWS = "stop_loss_insufficient_views"
_NO_PREDICTION = "stop_loss_no_prediction"


def gpm(gmv: float | np.ndarray, views: float | np.ndarray) -> float | np.ndarray:
    """GMV per 1,000 views (NaN with no views)."""
    gmv_arr, views_arr = np.asarray(gmv, dtype=np.float64), np.asarray(views, dtype=np.float64)
    out = np.full(np.broadcast(gmv_arr, views_arr).shape, np.nan)
    np.divide(gmv_arr * 1000.0, views_arr, out=out, where=views_arr > 0)
    return float(out) if out.ndim == 0 else out


@dataclass(frozen=True)
class StopLossCheck:
    flagged: bool
    reason: str | None  # _FLAG when flagged; why it could not be judged otherwise; None when it is fine
    realized_gpm: float


def stop_loss_check(views: int, gmv: float, predicted_gpm: float, settings: RulesSettings) -> StopLossCheck:
    """Stop-loss verdict for one collaboration."""
    realized = float(gpm(gmv, views))
    if views < settings.stop_loss_min_views:
        return StopLossCheck(False, _FEW_VIEWS, realized)
    if not predicted_gpm > 0:
        return StopLossCheck(False, _NO_PREDICTION, realized)
    if realized < settings.stop_loss_gpm_ratio * predicted_gpm:
        return StopLossCheck(True, _FLAG, realized)
    return StopLossCheck(False, None, realized)


def stop_loss_flags(
    promotions: pd.DataFrame, predicted_gpm: np.ndarray | pd.Series | str, settings: RulesSettings
) -> pd.DataFrame:
    """Vectorized :func:`stop_loss_check` over a promotions frame (``views``, ``gmv``; ``promotion_id`` kept).

    ``predicted_gpm`` is an array aligned with the rows, or the name of a column of ``promotions``. Returns
    ``promotion_id, views, realized_gpm, predicted_gpm, flagged, reason`` with the input's index.
    """
    predicted = promotions[predicted_gpm] if isinstance(predicted_gpm, str) else predicted_gpm
    predicted_arr = np.asarray(predicted, dtype=np.float64)
    if predicted_arr.shape != (len(promotions),):
        raise ValueError(f"predicted_gpm must have one value per promotion ({len(promotions)} rows)")
    views = promotions["views"].to_numpy(dtype=np.float64)
    realized = np.asarray(gpm(promotions["gmv"].to_numpy(dtype=np.float64), views))
    few = views < settings.stop_loss_min_views
    no_prediction = ~few & ~(predicted_arr > 0)
    judged = ~few & ~no_prediction
    with np.errstate(invalid="ignore"):
        flagged = judged & (realized < settings.stop_loss_gpm_ratio * predicted_arr)
    reason = np.full(len(promotions), None, dtype=object)
    reason[few] = _FEW_VIEWS
    reason[no_prediction] = _NO_PREDICTION
    reason[flagged] = _FLAG
    out = pd.DataFrame(
        {
            "views": views.astype(np.int64),
            "realized_gpm": realized,
            "predicted_gpm": predicted_arr,
            "flagged": flagged,
        },
        index=promotions.index,
    )
    out["reason"] = pd.Series(reason, index=promotions.index, dtype=object)  # None stays None (not NaN)
    if "promotion_id" in promotions.columns:
        out.insert(0, "promotion_id", promotions["promotion_id"].to_numpy())
    return out
