"""Recommendation responses: a creator's product pool, creators for a product or a shop, scored pairs."""

from __future__ import annotations

from pydantic import Field

from recsys.core.vocab import FanTier, PlanType, PromotionFormat
from serving.schemas.common import InputModel, Page, PublicModel, Reason, Refusal, examples

_REASON_EXAMPLE = {
    "code": "audience_match",
    "params": {
        "overlap": 0.86,
        "gender": "female",
        "creator_gender_share": 0.78,
        "target_gender_share": 0.7,
        "age": "age_24_30",
        "creator_age_share": 0.41,
        "target_age_share": 0.45,
    },
    "text": "followers match your buyers (86% overlap): 78% female vs your target 70%, 41% aged 24–30 vs 45%",
    "contribution": 0.41,
}


class Interval(PublicModel):
    """An 80% prediction interval: 8 in 10 new collaborations land inside (measured on held-out ones)."""

    low: float
    high: float


class _Money(PublicModel):
    horizon_days: int = Field(
        description="Horizon of every money figure: the promotions a new collaboration starts in its first "
        "horizon_days days (the window the GMV model learnt; 30 by default)."
    )
    predicted_gmv: float = Field(
        description="Expected GMV (yuan) of the collaboration over the horizon, calibrated on held-out new "
        "collaborations (isotonic)."
    )
    predicted_gmv_interval: Interval = Field(description="80% interval of predicted_gmv (split conformal).")
    predicted_units: float = Field(description="Expected orders (units sold) over the horizon: GMV / price.")
    predicted_units_interval: Interval = Field(description="80% interval of predicted_units.")
    predicted_gpm: float = Field(
        0.0,
        description="Predicted GPM of the promotion: GMV (yuan) per 1,000 views, from the content distribution "
        "model (the figure stop-loss alerts compare realized GPM with).",
    )


class _Scores(_Money):
    fit_score: float = Field(description="The ranker's score as its place among validation pairs, in [0, 1].")
    distribution_weight: float = Field(description="Predicted content distribution weight of the promotion, [0, 1].")
    score: float = Field(
        description="The value the list is ordered by: predicted GMV net of the capacity price, scaled by the "
        "exposure controls (a creator's pool blends in expected earnings and category diversity)."
    )
    capacity_price: float = Field(
        description="Congestion price subtracted from the predicted GMV: what one more collaboration of this "
        "creator (and one more sample of this product) is worth elsewhere in the market this period; 0 = no "
        "congestion."
    )
    existing: bool = Field(
        description="The creator already promotes this product. Lists leave such pairs out unless the request "
        "sets include_existing=true."
    )
    creator_capacity_left: int | None = Field(
        description="New collaborations the creator can still take this period (null: no capacity known)."
    )
    reasons: list[Reason] = Field(description="Features that pushed this recommendation up, strongest first.")


class ProductRecommendation(_Scores):
    """A product in a creator's pool, with the plan the creator would join."""

    product_id: str
    title: str
    category: str
    price: float | None
    merchant_id: str
    plan_id: str | None = Field(description="The effective plan for this creator (exclusive > targeted > public).")
    plan_type: PlanType | None = Field(examples=["open"])
    commission_rate: float = Field(
        description="Effective commission rate (tiered plans: projected from predicted units)."
    )
    expected_earnings: float = Field(
        description="predicted GMV x (1 - expected refund rate) x effective rate: what the creator should earn "
        "over the horizon."
    )
    expected_earnings_interval: Interval = Field(description="80% interval of expected_earnings.")


class ProductPool(Page):
    creator_id: str
    items: list[ProductRecommendation]
    experiment: str | None = Field(default=None, description="The A/B experiment that served this list (or null).")
    arm: str | None = Field(default=None, description="The experiment's arm that served it (also `X-Recsys-Arm`).")

    model_config = examples(
        {
            "creator_id": "c00012",
            "model_run_id": "20260630-101500-ab12cd34-s7",
            "next_cursor": "eyJvIjoxMH0",
            "notice": None,
            "items": [
                {
                    "product_id": "p00075",
                    "title": "beauty item 75",
                    "category": "beauty",
                    "price": 129.0,
                    "merchant_id": "m00003",
                    "plan_id": "pl00084",
                    "plan_type": "open",
                    "commission_rate": 0.2,
                    "expected_earnings": 412.5,
                    "expected_earnings_interval": {"low": 0.0, "high": 1180.0},
                    "fit_score": 0.93,
                    "distribution_weight": 0.71,
                    "horizon_days": 30,
                    "predicted_gmv": 2300.0,
                    "predicted_gmv_interval": {"low": 0.0, "high": 6560.0},
                    "predicted_units": 17.8,
                    "predicted_units_interval": {"low": 0.0, "high": 50.9},
                    "score": 0.88,
                    "reasons": [_REASON_EXAMPLE],
                }
            ],
        }
    )


class CreatorRecommendation(_Scores):
    """A creator for a merchant's product, with the merchant's expected cost and return."""

    creator_id: str
    name: str
    followers: int
    fan_tier: FanTier = Field(examples=["mid"])
    region: str
    product_id: str = Field(description="The product this creator fits (for shop-level lists: the best one).")
    plan_id: str | None
    plan_type: PlanType | None
    commission_rate: float = Field(description="Commission the merchant would pay this creator.")
    expected_commission: float = Field(description="The merchant's expected commission cost over the horizon.")
    expected_commission_interval: Interval = Field(description="80% interval of expected_commission.")
    sample_cost: float = Field(
        description="What the collaboration's sample costs the merchant: the product's sample_cost, else "
        "rules.sample_cost_share x price + rules.sample_shipping; 0 for an existing partner."
    )
    merchant_roi: float | None = Field(
        description="Expected ROI including the sample: predicted GMV / (expected commission + sample cost); "
        "differs by creator (null if no cost)."
    )
    suspected_fake_engagement: bool = Field(
        description="The creator's followers or views look bought (僵尸粉; see docs/integrity.md): its list value is "
        "down-weighted by settings.integrity.fake_penalty and it never enters the top-creators hot list."
    )
    sample_fulfilment_rate: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="Of the samples shipped to the creator in the last 90 days, the share followed by content "
        "within 14 days (samples still inside their 14 days without content are not judged); null without any.",
    )


class CreatorList(Page):
    product_id: str | None = Field(default=None, description="Set for product-level lists.")
    merchant_id: str | None = Field(default=None, description="Set for shop-level lists.")
    items: list[CreatorRecommendation]
    experiment: str | None = Field(default=None, description="The A/B experiment that served this list (or null).")
    arm: str | None = Field(default=None, description="The experiment's arm that served it (also `X-Recsys-Arm`).")

    model_config = examples(
        {
            "product_id": "p00075",
            "merchant_id": None,
            "model_run_id": "20260630-101500-ab12cd34-s7",
            "next_cursor": None,
            "notice": None,
            "items": [
                {
                    "creator_id": "c00012",
                    "name": "Creator 12",
                    "followers": 48210,
                    "fan_tier": "mid",
                    "region": "south",
                    "product_id": "p00075",
                    "plan_id": "pl00084",
                    "plan_type": "open",
                    "commission_rate": 0.2,
                    "expected_commission": 412.5,
                    "expected_commission_interval": {"low": 0.0, "high": 1180.0},
                    "sample_cost": 72.5,
                    "merchant_roi": 4.78,
                    "suspected_fake_engagement": False,
                    "fit_score": 0.93,
                    "distribution_weight": 0.71,
                    "horizon_days": 30,
                    "predicted_gmv": 2300.0,
                    "predicted_gmv_interval": {"low": 0.0, "high": 6560.0},
                    "predicted_units": 17.8,
                    "predicted_units_interval": {"low": 0.0, "high": 50.9},
                    "score": 1.84,
                    "reasons": [_REASON_EXAMPLE],
                }
            ],
        }
    )


class Pair(InputModel):
    creator_id: str = Field(min_length=1, max_length=200, examples=["c00012"])
    product_id: str = Field(min_length=1, max_length=200, examples=["p00075"])


class ScoreRequest(InputModel):
    """Explicit (creator, product) pairs to score, up to 1,000 per call."""

    pairs: list[Pair] = Field(min_length=1, max_length=1000)
    format: PromotionFormat | None = Field(
        default=None,
        description="Promotion format to predict for (video, live or post); default: each creator's usual format.",
    )

    model_config = examples({"pairs": [{"creator_id": "c00012", "product_id": "p00075"}], "format": "video"})


class PairScore(_Money):
    creator_id: str
    product_id: str
    eligible: bool = Field(description="The creator may join a plan of this product now.")
    refusal: Refusal | None = Field(description="Why not, when not eligible.")
    plan_id: str | None
    plan_type: PlanType | None
    commission_rate: float = Field(description="Effective rate when eligible; else the product's best public rate.")
    expected_commission: float
    expected_commission_interval: Interval
    sample_cost: float
    merchant_roi: float | None
    suspected_fake_engagement: bool
    fit_score: float
    distribution_weight: float
    reasons: list[Reason]


class ScoreResponse(PublicModel):
    model_run_id: str
    items: list[PairScore] = Field(description="One per requested pair, in request order.")

    model_config = examples(
        {
            "model_run_id": "20260630-101500-ab12cd34-s7",
            "items": [
                {
                    "creator_id": "c00012",
                    "product_id": "p00075",
                    "eligible": True,
                    "refusal": None,
                    "plan_id": "pl00084",
                    "plan_type": "open",
                    "commission_rate": 0.2,
                    "expected_commission": 412.5,
                    "expected_commission_interval": {"low": 0.0, "high": 1180.0},
                    "sample_cost": 72.5,
                    "merchant_roi": 4.78,
                    "suspected_fake_engagement": False,
                    "fit_score": 0.93,
                    "distribution_weight": 0.71,
                    "horizon_days": 30,
                    "predicted_gmv": 2300.0,
                    "predicted_gmv_interval": {"low": 0.0, "high": 6560.0},
                    "predicted_units": 17.8,
                    "predicted_units_interval": {"low": 0.0, "high": 50.9},
                    "reasons": [_REASON_EXAMPLE],
                }
            ],
        }
    )
