"""The task funnel report (``GET /v1/tasks/{task_id}/report``): per creator, per content format and total."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from serving.schemas.common import PublicModel, examples
from serving.schemas.statements import Money

ReportFormat = Literal["json", "csv", "parquet"]
EXPORT_MEDIA_TYPES: dict[str, str] = {"csv": "text/csv; charset=utf-8", "parquet": "application/vnd.apache.parquet"}

_FIGURES = {
    "exposure": 12000,
    "clicks": 600,
    "add_to_cart": 90,
    "orders": 30,
    "click_rate": 0.05,
    "conversion": 0.05,
    "gmv": "3870.00",
    "commission": "774.00",
    "fee_cost": "500.00",
    "roi": 3.0377,
}


class FunnelFigures(PublicModel):
    """exposure → click → add-to-cart → order, and what it earned and cost the merchant (yuan, exact)."""

    exposure: int = Field(ge=0)
    clicks: int = Field(ge=0)
    add_to_cart: int = Field(ge=0)
    orders: int = Field(ge=0, description="Orders created in the task's window, refunded ones left out.")
    click_rate: float | None = Field(description="clicks / exposure; null without exposure.")
    conversion: float | None = Field(description="orders / clicks; null without clicks.")
    gmv: Money = Field(description="The orders' amounts.")
    commission: Money = Field(description="The orders' commission (tiered plans: the tier reached).")
    fee_cost: Money = Field(description="Fixed task fees owed (deliverables that passed QA).")
    roi: float | None = Field(description="GMV / (commission + fee cost); null when that cost is 0.")


class CreatorFunnel(FunnelFigures):
    creator_id: str


class FormatFunnel(FunnelFigures):
    content_format: str = Field(description="video, live, post, or unknown (fees of a creator with no activity).")


class TaskReport(PublicModel):
    """A task's funnel. An accepted creator sees only its own row; its formats and total are its own figures."""

    task_id: str
    merchant_id: str
    starts_at: datetime
    ends_at: datetime | None
    currency: str = Field(examples=["CNY"])
    scope: Literal["task", "creator"] = Field(
        description="task: every accepted creator (admin, the task's merchant); creator: the caller's own figures."
    )
    by_creator: list[CreatorFunnel] = Field(description="One row per accepted creator (zeros without activity).")
    by_format: list[FormatFunnel]
    total: FunnelFigures

    model_config = examples(
        {
            "task_id": "task-3f9a0c1b2d4e",
            "merchant_id": "m0001",
            "starts_at": "2026-07-01T00:00:00Z",
            "ends_at": "2026-07-31T00:00:00Z",
            "currency": "CNY",
            "scope": "task",
            "by_creator": [{"creator_id": "c00012", **_FIGURES}],
            "by_format": [{"content_format": "video", **_FIGURES}],
            "total": _FIGURES,
        }
    )
