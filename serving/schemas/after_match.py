"""After-the-match responses: stop-loss alerts and lookalike creators."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from models.matching.stoploss_view import StopLossAction
from recsys.core.vocab import FanTier, PlanType
from serving.schemas.common import PublicModel, examples

_ALERT_EXAMPLE = {
    "creator_id": "c00012",
    "product_id": "p00075",
    "plan_id": "pl00084",
    "plan_type": "targeted",
    "promotions": 2,
    "views": 48000,
    "realized_gmv": 96.0,
    "realized_gpm": 2.0,
    "predicted_gpm": 31.5,
    "gpm_ratio": 0.0635,
    "since": "2026-11-20T08:00:00Z",
    "sample_sent": True,
    "suggested_action": "lower_targeted_rate",
    "explanation": "It sells 6% of the predicted GPM on a targeted plan: a launched plan's rate cannot fall, so end "
    "the plan and invite the creator again at a lower rate, or pause.",
}


class StopLossAlertItem(PublicModel):
    """A running collaboration (creator, product, plan) that sells far below what the model predicts."""

    creator_id: str
    product_id: str
    plan_id: str
    plan_type: PlanType | None = Field(description="The plan the promotions ran under (null: plan since removed).")
    promotions: int = Field(description="Promotions of the collaboration started in the period.")
    views: int = Field(description="Their views, summed.")
    realized_gmv: float = Field(description="Their GMV (yuan), summed.")
    realized_gpm: float = Field(description="realized_gmv per 1,000 views.")
    predicted_gpm: float = Field(
        description="GMV per 1,000 views the distribution model predicts for these promotions (views-weighted)."
    )
    gpm_ratio: float = Field(description="realized_gpm / predicted_gpm; alerts have it below `gpm_ratio_threshold`.")
    since: datetime = Field(description="When the collaboration's first promotion in the period started.")
    sample_sent: bool = Field(description="The merchant shipped this creator a sample of the product.")
    suggested_action: StopLossAction = Field(
        description="`lower_targeted_rate` (targeted or exclusive plan), `stop_samples` (a sample was sent) or "
        "`pause`.",
    )
    explanation: str = Field(description="Why that action, in one sentence.")


class StopLossAlerts(PublicModel):
    merchant_id: str
    model_run_id: str
    as_of: datetime = Field(description="The time the period ends at (the service's clock).")
    period_days: int = Field(description="Collaborations with promotions started in the last period_days days.")
    min_views: int = Field(description="rules.stop_loss_min_views: views needed before a collaboration is judged.")
    gpm_ratio_threshold: float = Field(description="rules.stop_loss_gpm_ratio.")
    collaborations: int = Field(description="Running collaborations found in the period.")
    insufficient_views: int = Field(description="Of them, not judged yet: fewer than min_views views (omitted).")
    no_prediction: int = Field(description="Of them, not judged: no positive predicted GPM (omitted).")
    items: list[StopLossAlertItem] = Field(description="Flagged collaborations, lowest gpm_ratio first.")

    model_config = examples(
        {
            "merchant_id": "m00003",
            "model_run_id": "20260630-101500-ab12cd34-s7",
            "as_of": "2026-12-01T09:00:00Z",
            "period_days": 30,
            "min_views": 10000,
            "gpm_ratio_threshold": 0.3,
            "collaborations": 14,
            "insufficient_views": 5,
            "no_prediction": 0,
            "items": [_ALERT_EXAMPLE],
        }
    )


class LookalikeCreator(PublicModel):
    """An admitted creator like the query creator (or like one of the merchant's best performers)."""

    creator_id: str
    name: str
    similarity: float = Field(description="Cosine similarity of the creators' retrieval vectors, in [-1, 1].")
    fan_tier: FanTier
    followers: int
    main_category: str | None = Field(description="The creator's first listed content category.")
    region: str
    suspected_fake_engagement: bool = Field(description="The creator's followers or views look bought.")
    resembles: str | None = Field(
        default=None, description="Merchant lookalikes: the top performer (creator id) it resembles most."
    )
    resembles_gpm: float | None = Field(default=None, description="That performer's realized GPM with the merchant.")


class SimilarCreators(PublicModel):
    creator_id: str
    model_run_id: str
    items: list[LookalikeCreator]

    model_config = examples(
        {
            "creator_id": "c00012",
            "model_run_id": "20260630-101500-ab12cd34-s7",
            "items": [
                {
                    "creator_id": "c00107",
                    "name": "Creator 107",
                    "similarity": 0.91,
                    "fan_tier": "mid",
                    "followers": 51200,
                    "main_category": "beauty",
                    "region": "south",
                    "suspected_fake_engagement": False,
                    "resembles": None,
                    "resembles_gpm": None,
                }
            ],
        }
    )


class TopPerformer(PublicModel):
    creator_id: str
    views: int
    realized_gmv: float
    realized_gpm: float


class MerchantLookalikes(PublicModel):
    merchant_id: str
    model_run_id: str
    min_views: int = Field(description="Views a creator needs with the merchant to count as a performer.")
    top_performers: list[TopPerformer] = Field(description="The seeds: best realized GPM first.")
    excluded_partners: int = Field(description="Creators left out because the merchant already works with them.")
    items: list[LookalikeCreator]

    model_config = examples(
        {
            "merchant_id": "m00003",
            "model_run_id": "20260630-101500-ab12cd34-s7",
            "min_views": 10000,
            "top_performers": [{"creator_id": "c00012", "views": 48000, "realized_gmv": 2400.0, "realized_gpm": 50.0}],
            "excluded_partners": 9,
            "items": [
                {
                    "creator_id": "c00107",
                    "name": "Creator 107",
                    "similarity": 0.91,
                    "fan_tier": "mid",
                    "followers": 51200,
                    "main_category": "beauty",
                    "region": "south",
                    "suspected_fake_engagement": False,
                    "resembles": "c00012",
                    "resembles_gpm": 50.0,
                }
            ],
        }
    )
