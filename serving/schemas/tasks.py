"""Tasks (briefs with products, deliverables, milestones and a target creator profile), the creators on them, their
deliverables and the content they submit for review.

The target creator profile takes exactly the filters of creator search (``GET /v1/products/{product_id}/creators``)
with the same bounds, so a merchant describes the creators it wants once, in the words it already uses.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from recsys.core.vocab import AgeBand, AudienceGender, CityTier, FanTier, PromotionFormat
from recsys.core.workflows.tasks import (
    MAX_FEE_YUAN,
    MAX_LIVE_MINUTES,
    MAX_QUANTITY,
    MAX_TASK_PRODUCTS,
    DeliverableFormat,
    DeliverableState,
    MilestoneName,
    TaskGoal,
)
from serving.schemas.common import MAX_FOLLOWERS, MAX_MONEY, InputModel, PublicModel, examples
from serving.schemas.statements import Money

Term = str
TERM = Field(min_length=1, max_length=50)
TaskSourceName = Literal["invitation", "application"]
TaskCreatorStatusName = Literal["pending", "accepted", "declined"]


class TargetProfile(InputModel):
    """The creators a task wants: the filters of creator search, same names and bounds (all optional)."""

    fan_tier: FanTier | None = None
    region: str | None = Field(default=None, min_length=1, max_length=100)
    category: str | None = Field(default=None, min_length=1, max_length=100)
    followers_min: int | None = Field(default=None, ge=0, le=MAX_FOLLOWERS)
    followers_max: int | None = Field(default=None, ge=0, le=MAX_FOLLOWERS)
    audience_gender: AudienceGender | None = None
    audience_gender_min: float | None = Field(default=None, ge=0, le=1)
    audience_age: AgeBand | None = None
    audience_city_tier: CityTier | None = None
    gmv_30d_min: float | None = Field(default=None, ge=0, le=MAX_MONEY)
    engagement_min: float | None = Field(default=None, ge=0, le=3)
    format: PromotionFormat | None = None


class DeliverableLine(InputModel):
    format: DeliverableFormat = Field(description="video, live or post.")
    quantity: int = Field(ge=1, le=MAX_QUANTITY, description="Units each accepted creator owes.")
    live_minutes: int | None = Field(default=None, ge=1, le=MAX_LIVE_MINUTES, description="Per live session.")


class Milestone(InputModel):
    name: MilestoneName = Field(description="first_draft, review, final, go_live, recap — in this order.")
    due: date


class TaskCreate(InputModel):
    """A merchant's task: what to promote, what to deliver, by when, for whom, and the rules the content follows."""

    merchant_id: str | None = Field(
        default=None, min_length=1, max_length=200, description="Needed with the admin key; a merchant key's own."
    )
    title: str = Field(min_length=1, max_length=200)
    product_ids: list[str] = Field(
        min_length=1, max_length=MAX_TASK_PRODUCTS, description="The merchant's own products (1–20)."
    )
    goal: TaskGoal
    deliverables: list[DeliverableLine] = Field(min_length=1, max_length=10)
    brief: str = Field(min_length=1, max_length=5000)
    talking_points: list[str] = Field(default_factory=list, max_length=20)
    required_terms: list[Term] = Field(default_factory=list, max_length=20, description="Must appear in the text.")
    forbidden_terms: list[Term] = Field(default_factory=list, max_length=50, description="Must not appear.")
    disclosure_required: bool = Field(default=True, description="The text must carry an ad disclosure (广告, #ad).")
    milestones: list[Milestone] = Field(min_length=1, max_length=5)
    fee_per_deliverable: float | None = Field(
        default=None, ge=0, le=MAX_FEE_YUAN, description="Fixed fee (CNY) per deliverable that passes QA (保底)."
    )
    target_profile: TargetProfile = Field(default_factory=TargetProfile)

    model_config = examples(
        {
            "title": "Autumn serum launch",
            "product_ids": ["p00075"],
            "goal": "purchase",
            "deliverables": [{"format": "video", "quantity": 2}],
            "brief": "Show the serum in a morning routine.",
            "talking_points": ["light texture"],
            "required_terms": ["serum"],
            "forbidden_terms": ["cure"],
            "disclosure_required": True,
            "milestones": [{"name": "first_draft", "due": "2099-01-05"}, {"name": "go_live", "due": "2099-01-20"}],
            "fee_per_deliverable": 300.0,
            "target_profile": {"fan_tier": "20k-100k"},
        }
    )


class TaskPublic(PublicModel):
    """A task as a creator it is open to sees it (no figures, no other creators)."""

    task_id: str
    merchant_id: str
    title: str
    status: Literal["open", "closed"]
    goal: TaskGoal
    product_ids: list[str]
    deliverables: list[DeliverableLine]
    brief: str
    talking_points: list[str]
    required_terms: list[str]
    forbidden_terms: list[str]
    disclosure_required: bool
    milestones: list[Milestone]
    fee_per_deliverable: Money | None
    target_profile: TargetProfile
    starts_at: datetime
    ends_at: datetime | None = Field(description="End of the last milestone's day: applications close then.")
    created_at: datetime


class TaskCreatorPublic(PublicModel):
    """A creator invited to or applying for a task, and the answer."""

    task_id: str
    creator_id: str
    source: TaskSourceName
    status: TaskCreatorStatusName
    note: str | None
    created_at: datetime
    answered_at: datetime | None


class TaskDetail(TaskPublic):
    """The task with its creators: all of them for its merchant and the admin, only its own entry for a creator."""

    creators: list[TaskCreatorPublic]
    pool_rank: int | None = Field(
        default=None, description="In a creator's task list: the best place of the task's products in its pool."
    )


class TaskList(PublicModel):
    items: list[TaskDetail]


class TaskCreatorList(PublicModel):
    task_id: str
    items: list[TaskCreatorPublic]


class TaskInvite(InputModel):
    creator_ids: list[str] = Field(min_length=1, max_length=50, description="1–50 creators.")


class TaskApply(InputModel):
    creator_id: str | None = Field(default=None, min_length=1, max_length=200, description="Admin key only.")
    note: str | None = Field(default=None, max_length=1000)


class TaskAnswer(InputModel):
    note: str | None = Field(default=None, max_length=1000, description="Why (a decline).")


class Transition(PublicModel):
    from_state: DeliverableState | None
    to_state: DeliverableState
    at: datetime
    actor: str = Field(description="admin, merchant:<id> or creator:<id>.")
    submission_id: str | None
    reasons: list[str]


class DeliverablePublic(PublicModel):
    deliverable_id: str
    task_id: str
    creator_id: str
    format: DeliverableFormat
    unit: int
    live_minutes: int | None
    state: DeliverableState
    next_states: list[DeliverableState] = Field(description="Where it may move next (by the right party).")
    fee: Money = Field(description="The fixed fee it earns once it passes QA (0.00: none).")
    passed_qa_at: datetime | None
    history: list[Transition]


class DeliverableList(PublicModel):
    task_id: str
    items: list[DeliverablePublic]


class TransitionRequest(InputModel):
    to_state: DeliverableState
    reasons: list[str] = Field(default_factory=list, max_length=20, description="Needed for changes_requested.")


class FindingPublic(PublicModel):
    rule_id: str
    category: str
    start: int = Field(description="Character offset into `text` (0 with `end` 0: something missing).")
    end: int
    excerpt: str
    message: str


class SubmissionCreate(InputModel):
    deliverable_id: str = Field(min_length=1, max_length=200)
    text: str = Field(min_length=1, max_length=20_000, description="The script or caption.")
    content_link: str | None = Field(
        default=None, max_length=2000, pattern=r"^https?://\S+$", description="Needed for the final content."
    )
    creator_id: str | None = Field(default=None, min_length=1, max_length=200, description="Admin key only.")


class SubmissionPublic(PublicModel):
    submission_id: str
    task_id: str
    deliverable_id: str
    creator_id: str
    stage: Literal["draft", "final"]
    text: str
    content_link: str | None
    findings: list[FindingPublic]
    passed: bool = Field(description="True when the check found nothing.")
    rules_version: str
    decision: Literal["approved", "changes_requested"] | None
    reasons: list[str]
    submitted_at: datetime
    decided_at: datetime | None
    deliverable_state: DeliverableState | None = None


class SubmissionList(PublicModel):
    task_id: str
    items: list[SubmissionPublic]


class ReviewRequest(InputModel):
    decision: Literal["approve", "request_changes"]
    reasons: list[str] = Field(default_factory=list, max_length=20, description="Needed to request changes.")
