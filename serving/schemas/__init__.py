"""Request and response models of the API (one module per resource)."""

from serving.schemas.common import Page, Reason, Refusal
from serving.schemas.events import Event, EventBatch, EventBatchResult, EventResult
from serving.schemas.onboarding import (
    CreatorPublic,
    CreatorPut,
    MerchantPublic,
    MerchantPut,
    ProductPublic,
    ProductPut,
)
from serving.schemas.ops import Health, Readiness, ReloadResult
from serving.schemas.plans import PlanCreate, PlanList, PlanPublic, PlanUpdate, Tier
from serving.schemas.rankings import Ranking, RankingItem, RankingKind
from serving.schemas.recommendations import (
    CreatorList,
    CreatorRecommendation,
    Interval,
    Pair,
    PairScore,
    ProductPool,
    ProductRecommendation,
    ScoreRequest,
    ScoreResponse,
)
from serving.schemas.workflows import (
    InviteCreate,
    InviteList,
    InvitePublic,
    SampleContent,
    SampleReject,
    SampleRequestCreate,
    SampleRequestPublic,
)

__all__ = [
    "CreatorList",
    "CreatorPublic",
    "CreatorPut",
    "CreatorRecommendation",
    "Event",
    "EventBatch",
    "EventBatchResult",
    "EventResult",
    "Health",
    "Interval",
    "InviteCreate",
    "InviteList",
    "InvitePublic",
    "MerchantPublic",
    "MerchantPut",
    "Page",
    "Pair",
    "PairScore",
    "PlanCreate",
    "PlanList",
    "PlanPublic",
    "PlanUpdate",
    "ProductPool",
    "ProductPublic",
    "ProductPut",
    "ProductRecommendation",
    "Ranking",
    "RankingItem",
    "RankingKind",
    "Readiness",
    "Reason",
    "Refusal",
    "ReloadResult",
    "SampleContent",
    "SampleReject",
    "SampleRequestCreate",
    "SampleRequestPublic",
    "ScoreRequest",
    "ScoreResponse",
    "Tier",
]
