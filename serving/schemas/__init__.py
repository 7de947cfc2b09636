"""Request and response models of the API (one module per resource)."""

from serving.schemas.common import Page, Reason, Refusal
from serving.schemas.events import Event, EventBatch, EventBatchResult, EventResult
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

__all__ = [
    "CreatorList",
    "CreatorRecommendation",
    "Event",
    "EventBatch",
    "EventBatchResult",
    "EventResult",
    "Health",
    "Interval",
    "Page",
    "Pair",
    "PairScore",
    "PlanCreate",
    "PlanList",
    "PlanPublic",
    "PlanUpdate",
    "ProductPool",
    "ProductRecommendation",
    "Ranking",
    "RankingItem",
    "RankingKind",
    "Readiness",
    "Reason",
    "Refusal",
    "ReloadResult",
    "ScoreRequest",
    "ScoreResponse",
    "Tier",
]
