"""Invitations to a targeted plan (TikTok's target collaboration, Douyin's 定向计划): pure rules.

A merchant invites creators to a product at a rate until an expiry; the invitation creates or extends a targeted
plan (at most :data:`MAX_TARGETED_CREATORS` creators per plan; the plan's own terms pass the plan rules). The
invited creator accepts (the collaboration starts) or declines. An invitation's status at ``now``:

| stored status | now < expires_at | now >= expires_at |
|---|---|---|
| pending | pending | expired |
| accepted / declined | as stored | as stored |
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum

MAX_TARGETED_CREATORS = 50
"""Creators one targeted plan may list (TikTok Shop's target collaboration allows 50)."""
DEFAULT_INVITE_DAYS = 7
"""An invitation without an expiry stays open this many days."""
MAX_INVITE_DAYS = 90
"""An invitation may stay open at most this many days."""


class InviteStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"


class InviteAction(StrEnum):
    ACCEPT = "accept"
    DECLINE = "decline"


def invite_status(stored: str, expires_at: datetime, now: datetime) -> InviteStatus:
    """The status at ``now``: a pending invitation past its expiry reads as expired."""
    if stored == InviteStatus.PENDING and now >= expires_at:
        return InviteStatus.EXPIRED
    return InviteStatus(stored)


def default_expiry(now: datetime) -> datetime:
    return now + timedelta(days=DEFAULT_INVITE_DAYS)


def validate_invitation(creator_ids: Sequence[str], expires_at: datetime, now: datetime) -> list[str]:
    """Problems with an invitation batch (before the plan rules and the store are asked)."""
    reasons: list[str] = []
    if not creator_ids:
        reasons.append("invite_creators_missing")
    if len(set(creator_ids)) > MAX_TARGETED_CREATORS:
        reasons.append("invite_too_many_creators")
    if expires_at <= now:
        reasons.append("invite_expiry_in_past")
    elif expires_at > now + timedelta(days=MAX_INVITE_DAYS):
        reasons.append("invite_expiry_too_far")
    return reasons


def plan_with_room(listed: Sequence[Sequence[str]], creator_ids: Sequence[str]) -> int | None:
    """The first plan (position in ``listed``, each plan's listed creators) that can list every one of
    ``creator_ids`` within :data:`MAX_TARGETED_CREATORS`; None when a new plan is needed."""
    for position, creators in enumerate(listed):
        if len(set(creators) | set(creator_ids)) <= MAX_TARGETED_CREATORS:
            return position
    return None


def invite_transition(stored: str, expires_at: datetime, action: InviteAction, now: datetime) -> str | None:
    """The refusal reason for ``action`` on an invitation, or None when it is allowed. Repeating the action that
    already happened is allowed (idempotent: the caller changes nothing)."""
    status = invite_status(stored, expires_at, now)
    done = InviteStatus.ACCEPTED if action is InviteAction.ACCEPT else InviteStatus.DECLINED
    if status in (InviteStatus.PENDING, done):
        return None
    if status is InviteStatus.EXPIRED:
        return "invite_expired"
    return "invite_already_accepted" if status is InviteStatus.ACCEPTED else "invite_already_declined"
