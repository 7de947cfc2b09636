"""Commission rates, expected earnings, merchant ROI and the fit/earnings blend for ranking.

Tiered plans: the rate is a step function of the creator's cumulative amount in the plan period (units sold,
or GMV, per ``tier_basis``): ``commission_rate`` below the first tier's ``min_amount``, then each tier's
rate from its ``min_amount`` on. The *effective rate* of a creator with ``cumulative`` amount so far and
``predicted`` amount to come is the average of that step function over
``[cumulative, cumulative + predicted]`` (exactly what the predicted sales would earn), or the rate at
``cumulative`` when nothing is predicted. Tiered averages are rounded to 12 decimals so equal schedules
compare equal. Open/targeted/exclusive plans pay ``commission_rate`` flat (tiers are only read for tiered
plans).

The tier kernel works on padded arrays (one row per plan, unused tiers at ``+inf`` thresholds) and is shared
by the scalar functions and the vectorized PlanBook, so both give bit-identical rates.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from recsys.core.rules.inputs import PlanTerms
from recsys.core.vocab import PlanType

RATE_DECIMALS = 12


def tier_matrix(tier_lists: Sequence[Sequence[tuple[float, float]]], width: int | None = None) -> np.ndarray:
    """Tiers as a padded array of shape (n_plans, width, 2): ``[..., 0]`` thresholds, ``[..., 1]`` rates.

    Unused slots hold threshold ``+inf`` and rate 0, which contribute exactly nothing to any rate.
    """
    width = max((len(t) for t in tier_lists), default=0) if width is None else width
    out = np.zeros((len(tier_lists), width, 2), dtype=np.float64)
    out[:, :, 0] = np.inf
    for i, tiers in enumerate(tier_lists):
        if tiers:
            out[i, : len(tiers)] = np.asarray(tiers, dtype=np.float64)
    return out


def rate_at(base: np.ndarray, tiers: np.ndarray, amount: np.ndarray) -> np.ndarray:
    """Marginal rate at cumulative ``amount``: the last tier whose threshold is <= amount, else ``base``."""
    rate = np.array(base, dtype=np.float64, copy=True)
    for j in range(tiers.shape[1]):
        rate = np.where(tiers[:, j, 0] <= amount, tiers[:, j, 1], rate)
    return rate


def average_rate(base: np.ndarray, tiers: np.ndarray, start: np.ndarray, amount: np.ndarray) -> np.ndarray:
    """Average rate over ``[start, start + amount]`` (``amount`` > 0) of the step schedule."""
    end = start + amount
    lower = np.full(len(base), -np.inf)
    acc = np.zeros(len(base), dtype=np.float64)
    rate = np.asarray(base, dtype=np.float64)
    for j in range(tiers.shape[1] + 1):
        upper = tiers[:, j, 0] if j < tiers.shape[1] else np.full(len(base), np.inf)
        overlap = np.maximum(0.0, np.minimum(upper, end) - np.maximum(lower, start))
        acc = acc + rate * overlap
        if j < tiers.shape[1]:
            lower, rate = upper, tiers[:, j, 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        average = acc / amount
    # An average of the schedule's rates lies within them; summing overlaps of large amounts can drift by ~1e-12.
    used = np.where(np.isfinite(tiers[:, :, 0]), tiers[:, :, 1], np.nan)
    low = np.fmin(
        np.asarray(base, dtype=np.float64), np.nanmin(np.where(np.isnan(used), np.inf, used), axis=1, initial=np.inf)
    )
    high = np.fmax(
        np.asarray(base, dtype=np.float64), np.nanmax(np.where(np.isnan(used), -np.inf, used), axis=1, initial=-np.inf)
    )
    return np.round(np.clip(average, low, high), RATE_DECIMALS)


def tiered_rates(base: np.ndarray, tiers: np.ndarray, cumulative: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """Effective rates of tiered plans: average over the predicted amount, or the marginal rate if none."""
    cumulative = np.maximum(np.nan_to_num(np.asarray(cumulative, dtype=np.float64)), 0.0)
    predicted = np.maximum(np.nan_to_num(np.asarray(predicted, dtype=np.float64)), 0.0)
    marginal = np.round(rate_at(base, tiers, cumulative), RATE_DECIMALS)
    if not (predicted > 0).any():
        return marginal
    return np.where(predicted > 0, average_rate(base, tiers, cumulative, predicted), marginal)


def effective_rate(plan: PlanTerms, cumulative_amount: float = 0.0, predicted_amount: float = 0.0) -> float:
    """The rate ``plan`` pays on a creator's predicted sales (amounts in the plan's ``tier_basis``)."""
    if plan.plan_type != PlanType.TIERED:
        return plan.commission_rate
    rates = tiered_rates(
        np.array([plan.commission_rate]),
        tier_matrix([plan.tiers]),
        np.array([cumulative_amount], dtype=np.float64),
        np.array([predicted_amount], dtype=np.float64),
    )
    return float(rates[0])


def tier_schedule_points(plan: PlanTerms) -> list[float]:
    """Amounts at which ``plan``'s rate may change (0 and every threshold)."""
    return sorted({0.0, *(m for m, _ in plan.tiers if m > 0)}) if plan.plan_type == PlanType.TIERED else [0.0]


def expected_commission(
    predicted_gmv: float | np.ndarray,
    rate: float | np.ndarray,
    expected_refund_rate: float | np.ndarray = 0.0,
) -> float | np.ndarray:
    """predicted GMV x (1 - expected refund rate) x effective rate (refund rate clipped to [0, 1])."""
    refund = np.clip(expected_refund_rate, 0.0, 1.0)
    value = np.asarray(predicted_gmv, dtype=np.float64) * (1.0 - refund) * np.asarray(rate, dtype=np.float64)
    return float(value) if np.ndim(value) == 0 else value


def merchant_roi(predicted_gmv: float, commission_cost: float) -> float | None:
    """The merchant's expected return on commission: predicted GMV / expected commission cost.

    ``None`` when the cost is 0 (or negative): the ROI is undefined, not infinite, so it never sorts first.
    """
    if not commission_cost > 0:
        return None
    return float(predicted_gmv) / float(commission_cost)


def merchant_roi_array(predicted_gmv: np.ndarray, commission_cost: np.ndarray) -> np.ndarray:
    """Vectorized :func:`merchant_roi`; NaN where the cost is not positive (the array form of ``None``)."""
    gmv = np.asarray(predicted_gmv, dtype=np.float64)
    cost = np.asarray(commission_cost, dtype=np.float64)
    out = np.full(np.broadcast(gmv, cost).shape, np.nan)
    positive = cost > 0
    np.divide(gmv, cost, out=out, where=positive)
    return out


def normalise_unit(values: np.ndarray) -> np.ndarray:
    """Min-max scale to [0, 1] within the list (NaN -> 0; a constant list -> all 0)."""
    x = np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    if x.size == 0:
        return x
    low, high = x.min(), x.max()
    if high <= low:
        return np.zeros_like(x)
    return (x - low) / (high - low)


def blend_fit_and_earnings(fit: np.ndarray, expected_earnings: np.ndarray, blend: float) -> np.ndarray:
    """Creator-side ranking score: ``(1 - b) * fit + b * earnings``, both min-max normalised in the list.

    ``b`` is ``rules.earnings_blend``; ``b = 0`` ranks by fit alone, ``b = 1`` by expected earnings alone.
    """
    if not 0.0 <= blend <= 1.0:
        raise ValueError(f"earnings blend must be within [0, 1], got {blend}")
    fit_arr = np.asarray(fit, dtype=np.float64)
    earn_arr = np.asarray(expected_earnings, dtype=np.float64)
    if fit_arr.shape != earn_arr.shape:
        raise ValueError(f"fit and expected earnings must align, got shapes {fit_arr.shape} and {earn_arr.shape}")
    return (1.0 - blend) * normalise_unit(fit_arr) + blend * normalise_unit(earn_arr)
