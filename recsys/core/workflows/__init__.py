"""The workflows after a match — invitations to targeted plans, sample requests, collaborations — as pure rules
returning reason codes (:data:`WORKFLOW_REASONS`), like the plan rules. Storage and HTTP live in ``serving``."""

from recsys.core.workflows.fulfilment import (
    CONTENT_DAYS,
    FULFILMENT_COLUMNS,
    FULFILMENT_WINDOW_DAYS,
    sample_fulfilment_rates,
)
from recsys.core.workflows.invites import (
    DEFAULT_INVITE_DAYS,
    MAX_INVITE_DAYS,
    MAX_TARGETED_CREATORS,
    InviteAction,
    InviteStatus,
    default_expiry,
    invite_status,
    invite_transition,
    plan_with_room,
    validate_invitation,
)
from recsys.core.workflows.reasons import WORKFLOW_REASONS, reason_details
from recsys.core.workflows.samples import (
    OPEN_STATUSES,
    SampleAction,
    SampleStatus,
    Transition,
    offers_samples,
    request_reasons,
    sample_transition,
)

__all__ = [
    "CONTENT_DAYS",
    "DEFAULT_INVITE_DAYS",
    "FULFILMENT_COLUMNS",
    "FULFILMENT_WINDOW_DAYS",
    "MAX_INVITE_DAYS",
    "MAX_TARGETED_CREATORS",
    "OPEN_STATUSES",
    "WORKFLOW_REASONS",
    "InviteAction",
    "InviteStatus",
    "SampleAction",
    "SampleStatus",
    "Transition",
    "default_expiry",
    "invite_status",
    "invite_transition",
    "offers_samples",
    "plan_with_room",
    "reason_details",
    "request_reasons",
    "sample_fulfilment_rates",
    "sample_transition",
    "validate_invitation",
]
