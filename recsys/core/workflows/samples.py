"""Sample requests (寄样; TikTok's sample applications): pure rules.

A creator requests a sample of a product; the product's merchant approves (one sample leaves the stock) or
rejects it, then ships it; the creator reports the promotion that followed. Products carry ``sample_stock``
(an extra column; empty = unlimited): at zero the product offers no samples and a request is refused.

| stored status | approve | reject | ship | content |
|---|---|---|---|---|
| requested | → approved (needs stock) | → rejected | `sample_request_not_approved` | `sample_request_not_shipped` |
| approved | unchanged | `sample_request_not_requested` | → shipped | `sample_request_not_shipped` |
| shipped | unchanged | `sample_request_not_requested` | unchanged | → content_posted |
| content_posted | unchanged | `sample_request_not_requested` | unchanged | unchanged (same promotion) |
| rejected | `sample_request_closed` | unchanged | `sample_request_closed` | `sample_request_closed` |

"unchanged": repeating a step that already happened is allowed and changes nothing (idempotent).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum


class SampleStatus(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    SHIPPED = "shipped"
    CONTENT_POSTED = "content_posted"


class SampleAction(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    SHIP = "ship"
    CONTENT = "content"


OPEN_STATUSES = (SampleStatus.REQUESTED, SampleStatus.APPROVED)
"""A creator has at most one request per product in these states."""
_ORDER = (SampleStatus.REQUESTED, SampleStatus.APPROVED, SampleStatus.SHIPPED, SampleStatus.CONTENT_POSTED)
_TARGET = {
    SampleAction.APPROVE: SampleStatus.APPROVED,
    SampleAction.SHIP: SampleStatus.SHIPPED,
    SampleAction.CONTENT: SampleStatus.CONTENT_POSTED,
}
_NEEDS = {
    SampleAction.APPROVE: "sample_request_not_requested",
    SampleAction.SHIP: "sample_request_not_approved",
    SampleAction.CONTENT: "sample_request_not_shipped",
}


@dataclass(frozen=True)
class Transition:
    """The answer for one action: refused (``reason``), allowed with a change, or allowed as a repeat."""

    reason: str | None
    changes: bool

    @property
    def allowed(self) -> bool:
        return self.reason is None


def offers_samples(stock: float | None) -> bool:
    """A product offers samples while its stock is unlimited (None / NaN) or above zero."""
    return stock is None or math.isnan(stock) or stock > 0


def request_reasons(stock: float | None, has_open_request: bool) -> list[str]:
    """Why a creator's new sample request is refused (empty: allowed)."""
    reasons = []
    if not offers_samples(stock):
        reasons.append("sample_out_of_stock")
    if has_open_request:
        reasons.append("sample_request_open")
    return reasons


def sample_transition(stored: str, action: SampleAction, stock: float | None = None) -> Transition:
    """Whether ``action`` may apply to a request in ``stored`` status (see the module table); approving needs
    ``stock`` (the product's samples left) to offer samples."""
    status = SampleStatus(stored)
    if status is SampleStatus.REJECTED:
        return Transition(None if action is SampleAction.REJECT else "sample_request_closed", False)
    if action is SampleAction.REJECT:
        if status is SampleStatus.REQUESTED:
            return Transition(None, True)
        return Transition("sample_request_not_requested", False)
    target = _TARGET[action]
    at, goal = _ORDER.index(status), _ORDER.index(target)
    if at >= goal:
        return Transition(None, False)
    if at != goal - 1:
        return Transition(_NEEDS[action], False)
    if action is SampleAction.APPROVE and not offers_samples(stock):
        return Transition("sample_out_of_stock", False)
    return Transition(None, True)
