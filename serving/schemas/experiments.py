"""A/B experiments: the definition an admin PUTs and the experiment with its live per-arm counters."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from recsys.core.experiments import VARIABLE_SETTINGS, ExperimentEndpoint, ExperimentStatus
from serving.schemas.common import InputModel, PublicModel, examples


class ArmDefinition(InputModel):
    name: str = Field(min_length=1, max_length=64, examples=["control"])
    weight: float = Field(description="Share of the callers (the arms' weights sum to 1).", examples=[0.5])
    bundle: str | None = Field(
        default=None,
        max_length=200,
        description="Serve this bundle (a run id under artifacts/), loaded and verified like a reload. Null: the "
        "live bundle.",
    )
    settings: dict[str, float] = Field(
        default_factory=dict,
        description="Setting overrides on top of the arm's bundle; allowed: " + ", ".join(VARIABLE_SETTINGS) + ".",
    )


class ExperimentDefinition(InputModel):
    arms: list[ArmDefinition] = Field(description="2–8 arms; the first is the baseline the report compares with.")
    endpoints: list[ExperimentEndpoint] = Field(
        description="The lists the experiment splits: creator_products (assigned by creator), product_creators "
        "(by the product's merchant), merchant_creators (by merchant)."
    )

    model_config = examples(
        {
            "arms": [
                {"name": "control", "weight": 0.5},
                {"name": "more-earnings", "weight": 0.5, "settings": {"rules.earnings_blend": 0.6}},
            ],
            "endpoints": ["creator_products"],
        }
    )


class ArmCounters(PublicModel):
    name: str
    weight: float
    bundle: str | None
    settings: dict[str, float]
    requests: int = Field(description="Lists this arm served (stored counts plus this worker's unflushed ones).")
    exposures: int = Field(description="Items this arm showed.")
    orders: int = Field(description="Order events that named this arm.")


class ExperimentPublic(PublicModel):
    name: str
    status: ExperimentStatus
    endpoints: list[ExperimentEndpoint]
    started_at: datetime
    stopped_at: datetime | None
    arms: list[ArmCounters]


class ExperimentList(PublicModel):
    items: list[ExperimentPublic]
