"""Stop-loss alerts: the merchant's running collaborations whose realized GPM stays far below the predicted GPM.

A *collaboration* is a (creator, product, plan) with promotions started in the current period (the outcome horizon,
``ranker.label_days`` = 30 days, before ``now``); its views and GMV are the sums over those promotions and it runs
*since* the first of them started. The verdict is the rule of :func:`recsys.core.rules.stop_loss_flags` (at least
``rules.stop_loss_min_views`` views and realized GPM < ``rules.stop_loss_gpm_ratio`` x predicted GPM), applied once
per collaboration, never re-implemented here.

**Predicted GPM** is what the live models already predict per promotion: the content distribution model
(:class:`models.gbm.distribution.DistributionModel`) regresses a promotion's log(1 + GMV per 1,000 views) on the
pair's features at the plan's commission rate and in the promotion's format — the same figure the recommendation
items show as ``predicted_gpm``. A collaboration's predicted GPM is the views-weighted mean over its promotions
(the GMV the model expects from the views it really got, per 1,000 of them), so realized and predicted compare the
same mix of formats. We do not divide the calibrated 30-day GMV by a guess of the views: no model predicts views,
and the distribution model is trained on exactly the quantity the rule compares.

The suggested action, most specific first: a targeted or exclusive plan -> lower the targeted rate (a launched
plan's rate can only rise, so: end it and invite the creator again at a lower rate); a sample was sent to the
creator for this product -> stop sending samples; otherwise pause the collaboration.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import numpy as np
import pandas as pd

from models.engine import Engine
from recsys.core.config import RulesSettings
from recsys.core.rules import stop_loss_flags
from recsys.core.schema import PROMOTION_FORMATS
from recsys.core.vocab import PlanType

_FEW_VIEWS = "stop_loss_insufficient_views"
_NO_PREDICTION = "stop_loss_no_prediction"
_LISTED = frozenset({PlanType.TARGETED.value, PlanType.EXCLUSIVE.value})
COLLABORATION_KEYS = ["creator_id", "product_id", "plan_id"]


class StopLossAction(StrEnum):
    """What an alert suggests the merchant does."""

    LOWER_TARGETED_RATE = "lower_targeted_rate"
    STOP_SAMPLES = "stop_samples"
    PAUSE = "pause"


@dataclass(frozen=True)
class StopLossAlert:
    """One flagged collaboration with its figures (GPM: yuan of GMV per 1,000 views)."""

    creator_id: str
    product_id: str
    plan_id: str
    plan_type: str | None
    promotions: int
    views: int
    realized_gmv: float
    realized_gpm: float
    predicted_gpm: float
    gpm_ratio: float  # realized / predicted
    since: datetime
    sample_sent: bool
    action: StopLossAction
    explanation: str


@dataclass(frozen=True)
class StopLossReport:
    """The alerts (worst ratio first) and how many collaborations the rule judged or could not judge."""

    alerts: list[StopLossAlert]
    collaborations: int
    insufficient_views: int
    no_prediction: int


def promotion_gpm(engine: Engine, promotions: pd.DataFrame, rates: pd.Series) -> np.ndarray:
    """Predicted GPM per promotion row (``creator_id``, ``product_id``, ``plan_id``, ``format``); NaN for a pair the
    bundle does not know. ``rates``: commission rate by plan id (a tiered plan: its base rate)."""
    tables = engine.tables
    c = tables.creators.rows(promotions["creator_id"].astype(str))
    p = tables.products.rows(promotions["product_id"].astype(str))
    known = (c >= 0) & (p >= 0)
    out = np.full(len(promotions), np.nan)
    if not known.any():
        return out
    rate = pd.to_numeric(promotions["plan_id"].map(rates), errors="coerce").to_numpy(np.float64)[known]
    formats = {f: i for i, f in enumerate(PROMOTION_FORMATS)}
    fmt = promotions["format"].map(formats).fillna(-1).to_numpy(np.int64)[known]
    usual = tables.arrays["creator_main_format"][c[known]].astype(np.int64)
    best = tables.product[p[known], tables.product_names.index("p_best_rate")].astype(np.float64)
    X = tables.vectors(c[known], p[known], np.where(np.isfinite(rate), rate, best), np.where(fmt >= 0, fmt, usual))
    out[known] = engine.distribution.predicted_gpm(X, num_threads=1)
    return out


def collaborations(promotions: pd.DataFrame, predicted: np.ndarray) -> pd.DataFrame:
    """One row per (creator, product, plan), in key order: promotions, views, GMV, first start and the
    views-weighted predicted GPM (the plain mean when nothing was viewed yet; NaN when no promotion has one)."""
    codes, keys = pd.MultiIndex.from_frame(promotions[COLLABORATION_KEYS].astype(str)).factorize(sort=True)
    order = np.argsort(codes, kind="stable")
    n = len(keys)
    views = promotions["views"].to_numpy(np.float64)
    known = np.isfinite(predicted)

    def total(values: np.ndarray) -> np.ndarray:
        return np.bincount(codes, weights=values, minlength=n)

    known_views = total(np.where(known, views, 0.0))
    expected = total(np.where(known, predicted * views, 0.0))  # x 1,000 GMV the model expects from those views
    n_known = total(known.astype(np.float64))
    mean = np.divide(total(np.where(known, predicted, 0.0)), n_known, out=np.full(n, np.nan), where=n_known > 0)
    weighted = np.divide(expected, known_views, out=np.full(n, np.nan), where=known_views > 0)
    started = promotions["started_at"].to_numpy("datetime64[ns]")[order]
    firsts = np.r_[0, np.flatnonzero(np.diff(codes[order])) + 1] if n else np.empty(0, np.int64)
    out = pd.DataFrame(list(keys), columns=COLLABORATION_KEYS)
    out["promotions"] = np.bincount(codes, minlength=n).astype(np.int64)
    out["views"] = total(views).astype(np.int64)
    out["gmv"] = total(promotions["gmv"].to_numpy(np.float64))
    out["since"] = np.minimum.reduceat(started, firsts) if n else np.empty(0, "datetime64[ns]")
    out["predicted_gpm"] = np.where(np.isfinite(weighted), weighted, mean)
    return out


def suggest(plan_type: str | None, sample_sent: bool, ratio: float) -> tuple[StopLossAction, str]:
    """The action for a flagged collaboration and one sentence saying why."""
    share = f"{ratio:.0%} of the predicted GPM"
    if plan_type in _LISTED:
        return StopLossAction.LOWER_TARGETED_RATE, (
            f"It sells {share} on a {plan_type} plan: a launched plan's rate cannot fall, so end the plan and "
            "invite the creator again at a lower rate, or pause."
        )
    if sample_sent:
        return StopLossAction.STOP_SAMPLES, (
            f"It sells {share} although a sample was sent: send this creator no more samples of the product."
        )
    return StopLossAction.PAUSE, f"It sells {share} after enough views: pause the collaboration."


def stop_loss_report(
    collabs: pd.DataFrame,
    plan_types: pd.Series,
    sampled: set[tuple[str, str]],
    settings: RulesSettings,
) -> StopLossReport:
    """Judge every collaboration with the stop-loss rule and build the alerts for the flagged ones.

    ``collabs``: :func:`collaborations`; ``plan_types``: plan type by plan id; ``sampled``: (creator, product)
    pairs the merchant sent a sample to."""
    verdict = stop_loss_flags(collabs, "predicted_gpm", settings)
    alerts = []
    for i in np.flatnonzero(verdict["flagged"].to_numpy()):
        row, judged = collabs.iloc[i], verdict.iloc[i]
        predicted, realized = float(judged["predicted_gpm"]), float(judged["realized_gpm"])
        ratio = realized / predicted
        plan_type = plan_types.get(row["plan_id"])
        sent = (str(row["creator_id"]), str(row["product_id"])) in sampled
        action, why = suggest(None if pd.isna(plan_type) else str(plan_type), sent, ratio)
        alerts.append(
            StopLossAlert(
                creator_id=str(row["creator_id"]),
                product_id=str(row["product_id"]),
                plan_id=str(row["plan_id"]),
                plan_type=None if pd.isna(plan_type) else str(plan_type),
                promotions=int(row["promotions"]),
                views=int(row["views"]),
                realized_gmv=float(row["gmv"]),
                realized_gpm=realized,
                predicted_gpm=predicted,
                gpm_ratio=ratio,
                since=pd.Timestamp(row["since"]).to_pydatetime(),
                sample_sent=sent,
                action=action,
                explanation=why,
            )
        )
    alerts.sort(key=lambda a: (a.gpm_ratio, a.creator_id, a.product_id, a.plan_id))
    reasons = verdict["reason"]
    return StopLossReport(
        alerts, len(collabs), int((reasons == _FEW_VIEWS).sum()), int((reasons == _NO_PREDICTION).sum())
    )


def merchant_stop_loss(
    engine: Engine,
    promotions: pd.DataFrame,
    plans: pd.DataFrame,
    sampled: set[tuple[str, str]],
    settings: RulesSettings,
) -> StopLossReport:
    """The stop-loss report of one merchant's running promotions (``creator_id, product_id, plan_id, started_at,
    format, views, gmv``); ``plans``: ``plan_type`` and ``commission_rate`` indexed by plan id."""
    if promotions.empty:
        return StopLossReport([], 0, 0, 0)
    predicted = promotion_gpm(engine, promotions, plans["commission_rate"])
    return stop_loss_report(collaborations(promotions, predicted), plans["plan_type"], sampled, settings)
