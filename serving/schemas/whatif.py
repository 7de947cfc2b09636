"""Commission what-if: ``POST /v1/products/{product_id}/what-if`` — the request and the answer.

As with plans (:mod:`serving.schemas.plans`), the commission bounds and the tier order are the plan rules' to check,
so a refusal carries the same reason code as the plan edit would (``plan_commission_out_of_bounds`` ...); the schema
only bounds what no rule reads: rates outside 0–1, non-finite numbers, the number of creators examined.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from serving.schemas.common import InputModel, PublicModel, examples
from serving.schemas.plans import PLAN_ID_PATTERN, Tier

DEFAULT_WHATIF_CREATORS = 200
MAX_WHATIF_CREATORS = 500


class WhatIfRequest(InputModel):
    """A proposed commission for one of the product's plans: a base rate, a tier table (tiered plans), or both."""

    rate: float | None = Field(
        default=None, ge=0, le=1, description="Proposed base rate (a fraction: 0.15 = 15%); default: unchanged."
    )
    tiers: list[Tier] | None = Field(
        default=None, max_length=50, description="Proposed tier table (tiered plans only); default: unchanged."
    )
    plan_id: str | None = Field(
        default=None,
        pattern=PLAN_ID_PATTERN,
        description="The product's plan to vary; default: the plan most of the examined creators would join today.",
    )
    top_n: int = Field(
        default=DEFAULT_WHATIF_CREATORS,
        ge=1,
        le=MAX_WHATIF_CREATORS,
        description="How many creators to examine: the top of the product's creator list.",
    )

    model_config = examples({"rate": 0.18}, {"rate": 0.15, "plan_id": "pl00084", "top_n": 50})

    @model_validator(mode="after")
    def _something_proposed(self) -> WhatIfRequest:
        if self.rate is None and self.tiers is None:
            raise ValueError("give a proposed `rate` or `tiers`")
        return self


class WhatIfCreator(PublicModel):
    """One examined creator: the product's place in its pool and the pair's money figures, today and proposed."""

    creator_id: str
    rank_today: int | None = Field(description="1-based place in the creator's pool today; null: not listed.")
    rank_proposed: int | None = Field(description="The same at the proposed commission.")
    commission_rate_today: float = Field(description="The rate the creator would get (tier-projected).")
    commission_rate_proposed: float
    expected_gmv_today: float = Field(description="Expected GMV of the collaboration over the horizon (yuan).")
    expected_gmv_proposed: float
    expected_orders_today: float = Field(description="Expected orders (units) over the horizon.")
    expected_orders_proposed: float
    commission_cost_today: float = Field(description="Expected commission the merchant pays (yuan).")
    commission_cost_proposed: float


class WhatIfSummary(PublicModel):
    """Over the examined creators: places that improve or worsen, the median place, money totals and a sentence."""

    creators: int
    in_pool_today: int = Field(description="Creators whose pool lists the product today.")
    in_pool_proposed: int
    improves: int = Field(description="Creators where the product would rank higher (or enter the pool).")
    worsens: int
    unchanged: int
    median_rank_today: float | None = Field(description="Median place among the pools that list it; null: none.")
    median_rank_proposed: float | None
    expected_gmv_today: float
    expected_gmv_proposed: float
    gmv_change_pct: float | None = Field(description="Change of the summed expected GMV, in percent.")
    commission_cost_today: float
    commission_cost_proposed: float
    cost_change_pct: float | None = Field(description="Change of the summed commission cost, in percent.")
    text: str = Field(examples=["+3 pt: median rank 7 → 2 in 40 creators' pools; expected GMV +18%, cost +31%"])


class WhatIfResult(PublicModel):
    """The what-if of one proposed commission. Nothing was changed."""

    product_id: str
    plan_id: str = Field(description="The plan varied.")
    model_run_id: str
    rate_today: float
    rate_proposed: float
    tiers_today: list[list[float]]
    tiers_proposed: list[list[float]]
    summary: WhatIfSummary
    creators: list[WhatIfCreator]

    model_config = examples(
        {
            "product_id": "p01901",
            "plan_id": "pl02252",
            "model_run_id": "20261201-073509-fb1df2df-s7",
            "rate_today": 0.213,
            "rate_proposed": 0.243,
            "tiers_today": [],
            "tiers_proposed": [],
            "summary": {
                "creators": 200,
                "in_pool_today": 67,
                "in_pool_proposed": 67,
                "improves": 67,
                "worsens": 0,
                "unchanged": 133,
                "median_rank_today": 123.0,
                "median_rank_proposed": 103.0,
                "expected_gmv_today": 863563.9,
                "expected_gmv_proposed": 1060984.01,
                "gmv_change_pct": 22.9,
                "commission_cost_today": 183939.11,
                "commission_cost_proposed": 257819.11,
                "cost_change_pct": 40.2,
                "text": "+3 pt: median rank 123 → 103 in 67 creators' pools; expected GMV +23%, cost +40%",
            },
            "creators": [
                {
                    "creator_id": "c01446",
                    "rank_today": 66,
                    "rank_proposed": 50,
                    "commission_rate_today": 0.213,
                    "commission_rate_proposed": 0.243,
                    "expected_gmv_today": 76244.34,
                    "expected_gmv_proposed": 76244.34,
                    "expected_orders_today": 235.5,
                    "expected_orders_proposed": 235.5,
                    "commission_cost_today": 16240.04,
                    "commission_cost_proposed": 18527.38,
                }
            ],
        }
    )
