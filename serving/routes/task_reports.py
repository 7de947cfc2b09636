"""``GET /v1/tasks/{task_id}/report``: a task's funnel per creator, per content format and total, as JSON, CSV or
Parquet (``?format=``).

Who sees it (``serving.task_store.may_view_task_figures``): the admin and the task's merchant see every accepted
creator; an accepted creator sees only its own row (formats and total computed over its own figures), so creators
never learn each other's sales; another merchant or creator gets 403, an unknown task 404.
"""

from __future__ import annotations

import io
from typing import Annotated

import pandas as pd
from fastapi import APIRouter, Query, Response

from recsys.core.rules.settlement import CURRENCY, money
from recsys.core.workflows.funnel import FunnelFigures, FunnelReport
from serving import funnel_store
from serving.auth import Principal
from serving.deps import PrincipalDep, ServiceDep
from serving.errors import forbidden, not_found, responses
from serving.routes.tasks import TaskIdPath
from serving.schemas import funnel as schema
from serving.task_store import TaskScope, may_view_task_figures

router = APIRouter(tags=["tasks"])

FormatQuery = Annotated[
    schema.ReportFormat,
    Query(description="json (default), csv or parquet: the same rows as a file, one per creator, format and total."),
]
EXPORT_COLUMNS = (
    "level",
    "creator_id",
    "content_format",
    *schema.FunnelFigures.model_fields,
)


def _figures(fig: FunnelFigures) -> dict[str, object]:
    return {
        "exposure": fig.exposure,
        "clicks": fig.clicks,
        "add_to_cart": fig.add_to_cart,
        "orders": fig.orders,
        "click_rate": None if fig.click_rate is None else round(fig.click_rate, 6),
        "conversion": None if fig.conversion is None else round(fig.conversion, 6),
        "gmv": f"{money(fig.gmv):.2f}",
        "commission": f"{money(fig.commission):.2f}",
        "fee_cost": f"{money(fig.fee_cost):.2f}",
        "roi": None if fig.roi is None else round(fig.roi, 6),
    }


def report_view(scope: TaskScope, report: FunnelReport, own: bool) -> schema.TaskReport:
    return schema.TaskReport(
        task_id=scope.task_id,
        merchant_id=scope.merchant_id,
        starts_at=scope.starts_at,
        ends_at=scope.ends_at,
        currency=CURRENCY,
        scope="creator" if own else "task",
        by_creator=[schema.CreatorFunnel(creator_id=c, **_figures(f)) for c, f in report.by_creator.items()],
        by_format=[schema.FormatFunnel(content_format=k, **_figures(f)) for k, f in report.by_format.items()],
        total=schema.FunnelFigures(**_figures(report.total)),
    )


def export_frame(report: FunnelReport) -> pd.DataFrame:
    """The report as rows: ``level`` creator, format or total; money as exact two-place text."""
    rows = [{"level": "creator", "creator_id": c, **_figures(f)} for c, f in report.by_creator.items()]
    rows += [{"level": "format", "content_format": k, **_figures(f)} for k, f in report.by_format.items()]
    rows.append({"level": "total", **_figures(report.total)})
    return pd.DataFrame(rows, columns=list(EXPORT_COLUMNS))


def _export(report: FunnelReport, task_id: str, fmt: str) -> Response:
    frame = export_frame(report)
    if fmt == "csv":
        body = frame.to_csv(index=False).encode("utf-8")
    else:
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        body = buffer.getvalue()
    disposition = f'attachment; filename="{task_id}-report.{fmt}"'
    headers = {"Content-Disposition": disposition}
    return Response(content=body, media_type=schema.EXPORT_MEDIA_TYPES[fmt], headers=headers)


def _viewer(principal: Principal, scope: TaskScope) -> str | None:
    """None for the whole report, a creator id for one creator's own row; 403 for anyone else."""
    if not may_view_task_figures(principal, scope):
        if principal.is_merchant():
            raise forbidden(f"task {scope.task_id!r} belongs to another merchant")
        raise forbidden("a task's figures are shown to its merchant and its accepted creators")
    return str(principal.tenant_id) if principal.is_creator() else None


@router.get(
    "/v1/tasks/{task_id}/report",
    response_model=schema.TaskReport,
    summary="A task's funnel report (JSON, CSV or Parquet)",
    responses={
        **responses(401, 403, 404, 422),
        200: {
            "description": "The report (JSON), or the same rows as CSV or Parquet with `?format=`.",
            "content": {"text/csv": {}, "application/vnd.apache.parquet": {}},
        },
    },
)
def task_report(
    task_id: TaskIdPath, principal: PrincipalDep, service: ServiceDep, format: FormatQuery = "json"
) -> schema.TaskReport | Response:
    """Exposure, clicks, add-to-cart, orders, click rate, conversion (orders / clicks), GMV, commission, fee cost
    and ROI = GMV / (commission + fee cost) of the task's accepted creators on its products within its dates: one
    row per creator, per content format (video, live, post) and the total. Exposure, clicks and add-to-cart come
    from `POST /v1/events`; orders (refunds left out) from the order events, attributed to their promotion's
    format; fees are those owed for deliverables that passed QA. `?format=csv|parquet` exports the same rows.

    Who may call: the admin and the task's merchant (every creator); an accepted creator (its own row only)."""
    scope = funnel_store.load_scope(service.store, task_id)
    if scope is None:
        raise not_found("task", task_id)
    viewer = _viewer(principal, scope)
    report = funnel_store.task_report(service.store, scope, viewer)
    if format != "json":
        return _export(report, task_id, format)
    return report_view(scope, report, own=viewer is not None)
