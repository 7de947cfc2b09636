"""Public hot lists: top creators by recent GMV, new hit products, commission picks."""

from __future__ import annotations

from pydantic import Field

from models.matching.hotlists import HotListKind
from recsys.core.vocab import FanTier
from serving.schemas.common import PublicModel, examples

RankingKind = HotListKind


class RankingItem(PublicModel):
    """One entry; creator lists fill the creator fields, product lists the product fields."""

    rank: int = Field(ge=1)
    creator_id: str | None = None
    product_id: str | None = None
    name: str = Field(description="Creator name or product title.")
    category: str | None = Field(default=None, description="Product category, or the creator's main content category.")
    region: str | None = None
    followers: int | None = None
    fan_tier: FanTier | None = None
    merchant_id: str | None = None
    price: float | None = None
    days_listed: float | None = Field(
        default=None, description="Days since the product was listed (at the model's data time)."
    )
    recent_gmv: float = Field(description="GMV over the last 30 days of the model's data.")
    commission_rate: float | None = Field(
        default=None,
        description="Best public (open or tiered base) commission rate open now; never a listed plan's rate.",
    )


class Ranking(PublicModel):
    kind: RankingKind
    category: str | None
    model_run_id: str
    items: list[RankingItem]

    model_config = examples(
        {
            "kind": "commission-picks",
            "category": "beauty",
            "model_run_id": "20260630-101500-ab12cd34-s7",
            "items": [
                {
                    "rank": 1,
                    "creator_id": None,
                    "product_id": "p00075",
                    "name": "beauty item 75",
                    "category": "beauty",
                    "region": None,
                    "followers": None,
                    "fan_tier": None,
                    "merchant_id": "m00003",
                    "price": 129.0,
                    "days_listed": 40.0,
                    "recent_gmv": 18200.0,
                    "commission_rate": 0.3,
                }
            ],
        }
    )
