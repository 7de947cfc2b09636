"""The answer of ``GET /v1/creators/{creator_id}/gmv-trend``: a creator's daily GMV, orders and promotions.
Imported directly (``serving.schemas.trend``), not re-exported."""

from __future__ import annotations

import datetime as dt

from pydantic import Field

from serving.schemas.common import PublicModel, examples


class TrendPoint(PublicModel):
    """One UTC day: what the creator's promotions that started on it sold (their whole totals)."""

    date: dt.date
    gmv: float = Field(ge=0, description="Yuan, to the cent: GMV of the promotions started this day.")
    orders: int = Field(ge=0, description="Orders of the promotions started this day.")
    promotions: int = Field(ge=0, description="Promotions the creator started this day.")


class GmvTrend(PublicModel):
    """A creator's daily series over the last ``days`` UTC days (every day listed, zeros included)."""

    creator_id: str
    days: int = Field(description="Days in the series, today (the service's clock, UTC) included.")
    start: dt.date = Field(description="The first day of the series.")
    end: dt.date = Field(description="The last day of the series (today).")
    as_of: dt.datetime = Field(description="The service's clock when the series was read.")
    attribution: str = Field(description="How sales are placed on days: `started_at` (see the endpoint).")
    total_gmv: float = Field(ge=0)
    total_orders: int = Field(ge=0)
    total_promotions: int = Field(ge=0)
    points: list[TrendPoint] = Field(description="One per day, oldest first.")

    model_config = examples(
        {
            "creator_id": "c00012",
            "days": 7,
            "start": "2026-11-25",
            "end": "2026-12-01",
            "as_of": "2026-12-01T09:40:00Z",
            "attribution": "started_at",
            "total_gmv": 1830.5,
            "total_orders": 21,
            "total_promotions": 2,
            "points": [
                {"date": "2026-11-25", "gmv": 0.0, "orders": 0, "promotions": 0},
                {"date": "2026-11-26", "gmv": 1830.5, "orders": 21, "promotions": 2},
            ],
        }
    )
