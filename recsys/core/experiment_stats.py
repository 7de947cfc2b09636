"""Per-arm outcomes of an A/B experiment and their comparison, with 95% confidence intervals from statsmodels.

The unit is one **exposure** (an item shown in a list the arm served). Per arm: conversion = orders per exposure
(a proportion: Wilson interval; the difference of two arms by Newcomb's method), and GMV and commission per
exposure (means over every exposure, zero for the many that sold nothing: t intervals on frequency-weighted
samples, the difference by Welch's unequal-variance t interval). Nothing here is hand-rolled: the intervals come
from ``statsmodels.stats.proportion`` and ``statsmodels.stats.weightstats``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

ALPHA = 0.05


@dataclass(frozen=True)
class ArmData:
    """What one arm showed and what followed: exposures and the attributed orders' amounts and commissions."""

    arm: str
    requests: int
    exposures: int
    order_gmv: np.ndarray  # shape (n_orders,): each attributed order's amount
    order_commission: np.ndarray  # shape (n_orders,)
    promotions: int = 0  # promotions started that followed the arm


@dataclass(frozen=True)
class Estimate:
    value: float
    low: float
    high: float


@dataclass(frozen=True)
class ArmSummary:
    arm: str
    requests: int
    exposures: int
    orders: int
    promotions: int
    conversion: Estimate
    gmv_per_exposure: Estimate
    commission_per_exposure: Estimate


@dataclass(frozen=True)
class ArmDifference:
    """``arm`` minus ``baseline``, each metric with its 95% interval."""

    arm: str
    baseline: str
    conversion: Estimate
    gmv_per_exposure: Estimate
    commission_per_exposure: Estimate


_NAN = Estimate(math.nan, math.nan, math.nan)


def _per_exposure_sample(values: np.ndarray, exposures: int) -> DescrStatsW | None:
    """The per-exposure values as a frequency-weighted sample: each order's value once, zero for the rest."""
    if exposures <= 0:
        return None
    zeros = max(exposures - len(values), 0)
    data = np.concatenate([values.astype(np.float64), [0.0]])
    weights = np.concatenate([np.ones(len(values)), [float(zeros)]])
    return DescrStatsW(data, weights=weights)


def _mean(sample: DescrStatsW | None) -> Estimate:
    if sample is None or sample.sum_weights < 2:
        return _NAN
    low, high = sample.tconfint_mean(alpha=ALPHA)
    return Estimate(float(sample.mean), float(low), float(high))


def _conversion(orders: int, exposures: int) -> Estimate:
    if exposures <= 0:
        return _NAN
    count = min(orders, exposures)
    low, high = proportion_confint(count, exposures, alpha=ALPHA, method="wilson")
    return Estimate(count / exposures, float(low), float(high))


def summarize(arm: ArmData) -> ArmSummary:
    """One arm's figures with their 95% intervals (NaN where the arm showed nothing)."""
    return ArmSummary(
        arm=arm.arm,
        requests=arm.requests,
        exposures=arm.exposures,
        orders=len(arm.order_gmv),
        promotions=arm.promotions,
        conversion=_conversion(len(arm.order_gmv), arm.exposures),
        gmv_per_exposure=_mean(_per_exposure_sample(arm.order_gmv, arm.exposures)),
        commission_per_exposure=_mean(_per_exposure_sample(arm.order_commission, arm.exposures)),
    )


def _mean_difference(a: DescrStatsW | None, b: DescrStatsW | None) -> Estimate:
    if a is None or b is None or a.sum_weights < 2 or b.sum_weights < 2:
        return _NAN
    low, high = CompareMeans(a, b).tconfint_diff(alpha=ALPHA, usevar="unequal")
    return Estimate(float(a.mean - b.mean), float(low), float(high))


def _conversion_difference(arm: ArmData, baseline: ArmData) -> Estimate:
    if arm.exposures <= 0 or baseline.exposures <= 0:
        return _NAN
    a, b = min(len(arm.order_gmv), arm.exposures), min(len(baseline.order_gmv), baseline.exposures)
    low, high = confint_proportions_2indep(
        a, arm.exposures, b, baseline.exposures, method="newcomb", compare="diff", alpha=ALPHA
    )
    return Estimate(a / arm.exposures - b / baseline.exposures, float(low), float(high))


def compare(arm: ArmData, baseline: ArmData) -> ArmDifference:
    """``arm`` against ``baseline``: differences of the three per-exposure metrics with 95% intervals."""
    return ArmDifference(
        arm=arm.arm,
        baseline=baseline.arm,
        conversion=_conversion_difference(arm, baseline),
        gmv_per_exposure=_mean_difference(
            _per_exposure_sample(arm.order_gmv, arm.exposures),
            _per_exposure_sample(baseline.order_gmv, baseline.exposures),
        ),
        commission_per_exposure=_mean_difference(
            _per_exposure_sample(arm.order_commission, arm.exposures),
            _per_exposure_sample(baseline.order_commission, baseline.exposures),
        ),
    )
