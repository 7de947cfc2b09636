"""The invitation and sample rules, hand-checked."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import pytest

from recsys.core.workflows import (
    MAX_TARGETED_CREATORS,
    WORKFLOW_REASONS,
    InviteAction,
    InviteStatus,
    SampleAction,
    invite_status,
    invite_transition,
    offers_samples,
    plan_with_room,
    request_reasons,
    sample_fulfilment_rates,
    sample_transition,
    validate_invitation,
)

NOW = datetime(2026, 12, 1, 12, 0)


def test_an_invitation_names_creators_and_expires_within_90_days() -> None:
    week = NOW + timedelta(days=7)
    assert validate_invitation(["c1", "c2"], week, NOW) == []
    assert validate_invitation([], week, NOW) == ["invite_creators_missing"]
    assert validate_invitation(["c1"], NOW, NOW) == ["invite_expiry_in_past"]
    assert validate_invitation(["c1"], NOW + timedelta(days=91), NOW) == ["invite_expiry_too_far"]
    many = [f"c{i}" for i in range(51)]
    assert validate_invitation(many, week, NOW) == ["invite_too_many_creators"]
    assert validate_invitation([*many[:50], "c0"], week, NOW) == []  # a repeated id is one creator


def test_a_targeted_plan_takes_at_most_50_creators() -> None:
    full = [f"c{i}" for i in range(MAX_TARGETED_CREATORS)]
    assert plan_with_room([full], ["new"]) is None
    assert plan_with_room([full], ["c3"]) == 0  # already listed: no room needed
    assert plan_with_room([full, full[:49]], ["new"]) == 1
    assert plan_with_room([full[:49]], ["a", "b"]) is None
    assert plan_with_room([], ["a"]) is None


def test_invite_status_and_transitions() -> None:
    later = NOW + timedelta(days=1)
    assert invite_status("pending", later, NOW) is InviteStatus.PENDING
    assert invite_status("pending", NOW, NOW) is InviteStatus.EXPIRED
    assert invite_status("accepted", NOW - timedelta(days=9), NOW) is InviteStatus.ACCEPTED  # accepted stays
    assert invite_transition("pending", later, InviteAction.ACCEPT, NOW) is None
    assert invite_transition("accepted", later, InviteAction.ACCEPT, NOW) is None  # idempotent
    assert invite_transition("accepted", later, InviteAction.DECLINE, NOW) == "invite_already_accepted"
    assert invite_transition("declined", later, InviteAction.ACCEPT, NOW) == "invite_already_declined"
    assert invite_transition("pending", NOW, InviteAction.ACCEPT, NOW) == "invite_expired"
    assert invite_transition("pending", NOW, InviteAction.DECLINE, NOW) == "invite_expired"


def test_samples_stop_at_zero_stock() -> None:
    assert offers_samples(None) and offers_samples(float("nan")) and offers_samples(1.0)
    assert not offers_samples(0.0)
    assert request_reasons(0.0, True) == ["sample_out_of_stock", "sample_request_open"]
    assert request_reasons(None, False) == []


@pytest.mark.parametrize(
    ("stored", "action", "stock", "reason", "changes"),
    [
        ("requested", SampleAction.APPROVE, 3.0, None, True),
        ("requested", SampleAction.APPROVE, 0.0, "sample_out_of_stock", False),
        ("requested", SampleAction.APPROVE, None, None, True),
        ("requested", SampleAction.REJECT, None, None, True),
        ("requested", SampleAction.SHIP, None, "sample_request_not_approved", False),
        ("requested", SampleAction.CONTENT, None, "sample_request_not_shipped", False),
        ("approved", SampleAction.APPROVE, 0.0, None, False),  # a repeat needs no stock
        ("approved", SampleAction.REJECT, None, "sample_request_not_requested", False),
        ("approved", SampleAction.SHIP, None, None, True),
        ("approved", SampleAction.CONTENT, None, "sample_request_not_shipped", False),
        ("shipped", SampleAction.SHIP, None, None, False),
        ("shipped", SampleAction.CONTENT, None, None, True),
        ("content_posted", SampleAction.CONTENT, None, None, False),
        ("rejected", SampleAction.REJECT, None, None, False),
        ("rejected", SampleAction.APPROVE, 5.0, "sample_request_closed", False),
        ("rejected", SampleAction.SHIP, None, "sample_request_closed", False),
    ],
)
def test_sample_transitions(
    stored: str, action: SampleAction, stock: float | None, reason: str | None, changes: bool
) -> None:
    step = sample_transition(stored, action, stock)
    assert (step.reason, step.changes) == (reason, changes)
    assert reason is None or reason in WORKFLOW_REASONS


def _requests(rows: list[tuple[str, str | None, str | None, str | None]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["creator_id", "shipped_at", "content_started_at", "content_recorded_at"])
    for c in frame.columns[1:]:
        frame[c] = pd.to_datetime(frame[c])
    return frame


def test_fulfilment_rate_by_hand() -> None:
    requests = _requests(
        [
            # a: 2 fulfilled (day 3, day 14 exactly), 1 late (day 15), 1 never (shipped 30 days ago) -> 2 / 4
            ("a", "2026-11-01", "2026-11-04", "2026-11-04"),
            ("a", "2026-11-01", "2026-11-15", "2026-11-15"),
            ("a", "2026-11-01", "2026-11-16", "2026-11-16"),
            ("a", "2026-11-01", None, None),
            # a: shipped 5 days ago, no content yet: not judged
            ("a", "2026-11-26", None, None),
            # a: shipped 100 days ago: outside the 90-day window
            ("a", "2026-08-23", "2026-08-24", "2026-08-24"),
            # b: shipped 5 days ago with content already: fulfilled -> 1 / 1
            ("b", "2026-11-26", "2026-11-27", "2026-11-27"),
            # c: only an unjudged sample and a never-shipped request: no rate
            ("c", "2026-11-30", None, None),
            ("c", None, None, None),
        ]
    )
    rates = sample_fulfilment_rates(requests, NOW)
    assert rates.to_dict() == {"a": 0.5, "b": 1.0}


def test_fulfilment_rate_is_point_in_time() -> None:
    """Content reported after the cutoff does not count at the cutoff, and later samples do not exist yet."""
    requests = _requests(
        [
            ("a", "2026-11-01", "2026-11-05", "2026-11-20"),  # content started day 4, reported day 19
            ("a", "2026-11-25", "2026-11-26", "2026-11-26"),
        ]
    )
    assert sample_fulfilment_rates(requests, datetime(2026, 11, 10)).to_dict() == {}  # not judged yet on day 9
    assert sample_fulfilment_rates(requests, datetime(2026, 11, 16)).to_dict() == {"a": 0.0}  # judged, not reported
    assert sample_fulfilment_rates(requests, datetime(2026, 11, 21)).to_dict() == {"a": 1.0}
    assert sample_fulfilment_rates(requests, NOW).to_dict() == {"a": 1.0}
