"""Tasks (达人广场 / LinkStar-style briefs): pure rules — the closed sets, the milestone order, the deliverable state
machine and the fixed-fee rule. Storage lives in ``serving.task_store``, HTTP in ``serving.routes.tasks``.

A deliverable unit (one video, one live session, one post of an accepted creator) moves through:

| from | to | who (besides the admin) | how |
|---|---|---|---|
| to_create (待创作) | in_review (审核中) | creator | submits a draft (script or caption) |
| changes_requested | in_review | creator | submits a corrected draft |
| in_review | to_submit (待提交) | merchant | approves the draft |
| in_review | changes_requested | merchant | requests changes, with reasons |
| to_submit | done (已完成) | creator | submits the final content link (the content is live) |
| done | passed_qa (质检通过) | merchant | passes quality control: the fixed fee becomes owed |

Anything else is refused: 409 naming the current state and the states it may move to.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum


class TaskGoal(StrEnum):
    EXPOSURE = "exposure"
    ADD_TO_CART = "add_to_cart"
    PURCHASE = "purchase"


class DeliverableFormat(StrEnum):
    VIDEO = "video"
    LIVE = "live"
    POST = "post"


class MilestoneName(StrEnum):
    """In the order a task's milestones must follow."""

    FIRST_DRAFT = "first_draft"
    REVIEW = "review"
    FINAL = "final"
    GO_LIVE = "go_live"
    RECAP = "recap"


MILESTONE_ORDER = tuple(MilestoneName)


class DeliverableState(StrEnum):
    TO_CREATE = "to_create"
    IN_REVIEW = "in_review"
    CHANGES_REQUESTED = "changes_requested"
    TO_SUBMIT = "to_submit"
    DONE = "done"
    PASSED_QA = "passed_qa"


class Party(StrEnum):
    """Who asks for a transition."""

    ADMIN = "admin"
    MERCHANT = "merchant"
    CREATOR = "creator"


class TaskCreatorSource(StrEnum):
    INVITATION = "invitation"
    APPLICATION = "application"


class TaskCreatorStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"


class TaskStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


S = DeliverableState
TRANSITIONS: dict[tuple[DeliverableState, DeliverableState], Party] = {
    (S.TO_CREATE, S.IN_REVIEW): Party.CREATOR,
    (S.CHANGES_REQUESTED, S.IN_REVIEW): Party.CREATOR,
    (S.IN_REVIEW, S.TO_SUBMIT): Party.MERCHANT,
    (S.IN_REVIEW, S.CHANGES_REQUESTED): Party.MERCHANT,
    (S.TO_SUBMIT, S.DONE): Party.CREATOR,
    (S.DONE, S.PASSED_QA): Party.MERCHANT,
}
"""Every allowed transition and the party that makes it (the admin may make any of them)."""

MAX_FEE_YUAN = 1_000_000.0
"""A fixed fee per deliverable is at most this (CNY)."""
MAX_QUANTITY = 100
"""A deliverable line asks for at most this many units."""
MAX_LIVE_MINUTES = 24 * 60
MAX_TASK_PRODUCTS = 20


@dataclass(frozen=True)
class Refusal:
    """Why a transition is refused: the HTTP status (403 wrong party, 409 wrong state, 422 missing reasons), a
    code and one sentence."""

    status: int
    code: str
    message: str


def next_states(state: DeliverableState) -> list[DeliverableState]:
    """The states ``state`` may move to, in the table's order."""
    return [to for (frm, to) in TRANSITIONS if frm is state]


def transition_refusal(
    state: DeliverableState, target: DeliverableState, party: Party, reasons: Sequence[str] = ()
) -> Refusal | None:
    """None when ``party`` may move a deliverable from ``state`` to ``target``; else why not."""
    if (state, target) not in TRANSITIONS:
        allowed = ", ".join(next_states(state)) or "none (final state)"
        return Refusal(
            409,
            "deliverable_transition_not_allowed",
            f"a deliverable in state {state.value!r} cannot move to {target.value!r}; allowed next states: {allowed}",
        )
    maker = TRANSITIONS[(state, target)]
    if party is not Party.ADMIN and party is not maker:
        return Refusal(
            403,
            "deliverable_transition_wrong_party",
            f"moving a deliverable from {state.value!r} to {target.value!r} is the {maker.value}'s step",
        )
    if target is S.CHANGES_REQUESTED and not [r for r in reasons if r.strip()]:
        return Refusal(422, "deliverable_changes_without_reasons", "requesting changes needs at least one reason")
    return None


def milestone_problems(milestones: Sequence[tuple[MilestoneName, date]]) -> list[tuple[int, str]]:
    """Problems with a task's milestones as ``(position, message)``: names at most once each, in the order of
    :data:`MILESTONE_ORDER`, dates never going back."""
    problems: list[tuple[int, str]] = []
    seen: set[MilestoneName] = set()
    for i, (name, due) in enumerate(milestones):
        if name in seen:
            problems.append((i, f"milestone {name.value!r} is listed twice"))
        seen.add(name)
        if i == 0:
            continue
        prev_name, prev_due = milestones[i - 1]
        if MILESTONE_ORDER.index(name) <= MILESTONE_ORDER.index(prev_name) and name is not prev_name:
            order = " < ".join(m.value for m in MILESTONE_ORDER)
            problems.append((i, f"milestone {name.value!r} comes after {prev_name.value!r}; the order is {order}"))
        if due < prev_due:
            problems.append((i, f"due {due.isoformat()} is before the previous milestone's ({prev_due.isoformat()})"))
    return problems


def to_fen(yuan: float) -> int:
    """Yuan -> integer fen, half up (money is exact where it is summed and paid)."""
    return int((Decimal(str(yuan)) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def to_yuan(fen: int) -> float:
    return float(Decimal(fen) / 100)


def fee_owed_fen(deliverables: Iterable[tuple[str, int]]) -> int:
    """The fixed fees owed over ``(state, fee_fen)`` pairs: only deliverables that passed QA count."""
    return sum(fee for state, fee in deliverables if state == S.PASSED_QA)


def deliverable_units(lines: Sequence[tuple[DeliverableFormat, int, int | None]]) -> list[tuple[str, int, int | None]]:
    """One ``(format, unit number, live_minutes)`` per unit an accepted creator owes, from the task's lines
    ``(format, quantity, live_minutes)``; unit numbers count per format from 1."""
    counts: dict[str, int] = {}
    units = []
    for fmt, quantity, minutes in lines:
        for _ in range(quantity):
            counts[fmt.value] = counts.get(fmt.value, 0) + 1
            units.append((fmt.value, counts[fmt.value], minutes))
    return units


def task_is_open(status: str, ends_at: datetime | None, now: datetime) -> bool:
    """A task takes applications and invitations while open and before its last milestone."""
    return status == TaskStatus.OPEN and (ends_at is None or now < ends_at)
