"""``GET /v1/merchants/{merchant_id}/alerts``: stop-loss alerts on the merchant's running collaborations.

The rule is :func:`recsys.core.rules.stop_loss_flags`; what a collaboration is, its predicted GPM and the suggested
action are in :mod:`models.matching.stoploss_view`; the store reads in :mod:`serving.after_match_store`.
"""

from __future__ import annotations

from datetime import UTC, timedelta

from fastapi import APIRouter

from models.matching.stoploss_view import StopLossAlert, merchant_stop_loss
from serving import after_match_store, plan_store
from serving.deps import MerchantIdPath, MerchantSelfDep, ServiceDep, SettingsDep, StateDep
from serving.errors import not_found, responses
from serving.schemas.after_match import StopLossAlertItem, StopLossAlerts

router = APIRouter(prefix="/v1/merchants", tags=["merchants"])


def alert_item(alert: StopLossAlert) -> StopLossAlertItem:
    return StopLossAlertItem(
        creator_id=alert.creator_id,
        product_id=alert.product_id,
        plan_id=alert.plan_id,
        plan_type=alert.plan_type,  # a plan type string, validated by the response model
        promotions=alert.promotions,
        views=alert.views,
        realized_gmv=round(alert.realized_gmv, 2),
        realized_gpm=round(alert.realized_gpm, 2),
        predicted_gpm=round(alert.predicted_gpm, 2),
        gpm_ratio=round(alert.gpm_ratio, 4),
        since=alert.since.replace(tzinfo=UTC),
        sample_sent=alert.sample_sent,
        suggested_action=alert.action,
        explanation=alert.explanation,
    )


@router.get(
    "/{merchant_id}/alerts",
    response_model=StopLossAlerts,
    summary="Stop-loss alerts on a merchant's running collaborations",
    responses=responses(401, 403, 404, 422, 503),
)
def merchant_alerts(
    merchant_id: MerchantIdPath,
    _caller: MerchantSelfDep,
    service: ServiceDep,
    settings: SettingsDep,
    state: StateDep,
) -> StopLossAlerts:
    """Collaborations (creator, product, plan) of the merchant's products with promotions started in the last
    `ranker.label_days` days (30) whose realized GPM, after at least `rules.stop_loss_min_views` views, is below
    `rules.stop_loss_gpm_ratio` x the predicted GPM (the distribution model's, views-weighted over the
    promotions); each with its figures and a suggested action (lower the targeted rate, stop samples, or pause).
    Collaborations with too few views are not listed: `insufficient_views` counts them.

    Who may call: the merchant itself and the admin."""
    if not plan_store.merchant_exists(service.store, merchant_id):
        raise not_found("merchant", merchant_id)
    now, days = state.now, settings.ranker.label_days
    promotions = after_match_store.merchant_promotions(service.store, merchant_id, now - timedelta(days=days), now)
    plans = after_match_store.plan_terms(service.store, promotions["plan_id"].astype(str).tolist())
    sampled = after_match_store.sampled_pairs(service.store, merchant_id)
    report = merchant_stop_loss(state.bundle.engine, promotions, plans, sampled, settings.rules)
    service.metrics.count_alerts(
        ((merchant_id, a.creator_id, a.product_id, a.plan_id), a.action.value) for a in report.alerts
    )
    return StopLossAlerts(
        merchant_id=merchant_id,
        model_run_id=state.run_id,
        as_of=now.replace(tzinfo=UTC),
        period_days=days,
        min_views=settings.rules.stop_loss_min_views,
        gpm_ratio_threshold=settings.rules.stop_loss_gpm_ratio,
        collaborations=report.collaborations,
        insufficient_views=report.insufficient_views,
        no_prediction=report.no_prediction,
        items=[alert_item(a) for a in report.alerts],
    )
