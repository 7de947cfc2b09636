"""Offline evaluation of rankings over query groups (logged outcomes as gains)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.engine import Engine
from models.gbm.gmv_calibration import calibration_table
from models.training.windows import Groups, LabelWindow, new_pairs
from recsys.core.metrics import ndcg_at_k


def group_slices(sizes: np.ndarray) -> list[slice]:
    ends = np.cumsum(sizes)
    return [slice(int(e - s), int(e)) for s, e in zip(sizes, ends, strict=True)]


def ndcg_per_query(groups: Groups, scores: np.ndarray, k: int = 10) -> np.ndarray:
    """NDCG@k of each query when its candidates are ordered by ``scores`` (ties broken by row order); gains are the
    realized outcomes (linear). Queries without any positive outcome give NaN."""
    out = np.full(groups.n_queries, np.nan)
    for q, sl in enumerate(group_slices(groups.group_sizes)):
        gains = groups.gain[sl]
        if not np.any(gains > 0):
            continue
        order = np.lexsort((np.arange(len(gains)), -scores[sl]))
        out[q] = ndcg_at_k(list(order), {i: float(g) for i, g in enumerate(gains) if g > 0}, k)
    return out


def mean_ndcg(groups: Groups, scores: np.ndarray, k: int = 10) -> float:
    values = ndcg_per_query(groups, scores, k)
    return float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")


def recall_of_top(reference_top: list[np.ndarray], retrieved: list[np.ndarray]) -> float:
    """Mean share of each query's reference top items found in its retrieved list."""
    hits = [len(np.intersect1d(ref, got)) / max(1, len(ref)) for ref, got in zip(reference_top, retrieved, strict=True)]
    return float(np.mean(hits)) if hits else float("nan")


def money_calibration(engine: Engine, window: LabelWindow) -> tuple[dict[str, float], pd.DataFrame]:
    """How well the engine's money figures hold on ``window``'s new collaborations (features as of its start):
    total predicted / total realized (calibrated and raw), the worst decile's realized / predicted, the 80%
    interval's coverage — and the table by decile of predicted GMV."""
    fresh = new_pairs(window)
    if engine.gmv_calibration is None or len(fresh) == 0:
        return {}, pd.DataFrame()
    c, p = fresh["c_row"].to_numpy(), fresh["p_row"].to_numpy()
    X = window.tables.vectors(c, p, fresh["rate"].to_numpy(), fresh["format_code"].to_numpy())
    raw = np.maximum(engine.gmv.predict(X), 0.0)
    money = engine.gmv_calibration.predict(raw)
    realized = fresh["gmv"].to_numpy(np.float64)
    table = calibration_table(money.expected, realized, money.low, money.high)
    ratios = table["realized_over_predicted"].to_numpy(np.float64)
    inside = (realized >= money.low) & (realized <= money.high)
    total = max(float(realized.sum()), 1e-9)
    figures = {
        "gmv_new_pairs": float(len(fresh)),
        "gmv_total_predicted_over_true": float(money.expected.sum()) / total,
        "gmv_raw_total_predicted_over_true": float(raw.sum()) / total,
        "gmv_decile_ratio_min": float(np.nanmin(ratios)),
        "gmv_decile_ratio_max": float(np.nanmax(ratios)),
        "gmv_interval80_coverage": float(inside.mean()),
    }
    return figures, table
