"""The task rules, hand-checked: every allowed deliverable transition and who makes it, every other pair refused
with the allowed next states, milestone order, fees owed only after QA, exact fen."""

from __future__ import annotations

import itertools
from datetime import date, datetime

import pytest

from recsys.core.workflows.tasks import (
    TRANSITIONS,
    DeliverableFormat,
    DeliverableState,
    MilestoneName,
    Party,
    deliverable_units,
    fee_owed_fen,
    milestone_problems,
    next_states,
    task_is_open,
    to_fen,
    transition_refusal,
)

S = DeliverableState
EXPECTED = {
    (S.TO_CREATE, S.IN_REVIEW): Party.CREATOR,
    (S.CHANGES_REQUESTED, S.IN_REVIEW): Party.CREATOR,
    (S.IN_REVIEW, S.TO_SUBMIT): Party.MERCHANT,
    (S.IN_REVIEW, S.CHANGES_REQUESTED): Party.MERCHANT,
    (S.TO_SUBMIT, S.DONE): Party.CREATOR,
    (S.DONE, S.PASSED_QA): Party.MERCHANT,
}


def test_the_transition_table_is_the_documented_one() -> None:
    assert TRANSITIONS == EXPECTED
    assert next_states(S.IN_REVIEW) == [S.TO_SUBMIT, S.CHANGES_REQUESTED]
    assert next_states(S.PASSED_QA) == []


@pytest.mark.parametrize(("frm", "to"), list(EXPECTED))
def test_each_allowed_transition_by_its_party_and_the_admin(frm: S, to: S) -> None:
    maker = EXPECTED[(frm, to)]
    other = Party.MERCHANT if maker is Party.CREATOR else Party.CREATOR
    assert transition_refusal(frm, to, maker, ["why"]) is None
    assert transition_refusal(frm, to, Party.ADMIN, ["why"]) is None
    refusal = transition_refusal(frm, to, other, ["why"])
    assert refusal is not None and (refusal.status, refusal.code) == (403, "deliverable_transition_wrong_party")


def test_every_other_pair_is_a_409_naming_the_state_and_the_allowed_next() -> None:
    refused = [(a, b) for a, b in itertools.product(S, S) if (a, b) not in EXPECTED]
    assert len(refused) == 36 - 6
    for frm, to in refused:
        refusal = transition_refusal(frm, to, Party.ADMIN)
        assert refusal is not None and refusal.status == 409, (frm, to)
        assert repr(frm.value) in refusal.message and repr(to.value) in refusal.message
    message = transition_refusal(S.DONE, S.TO_CREATE, Party.ADMIN).message  # type: ignore[union-attr]
    assert message.endswith("allowed next states: passed_qa")


def test_requesting_changes_needs_a_reason() -> None:
    for reasons in ([], ["  "]):
        refusal = transition_refusal(S.IN_REVIEW, S.CHANGES_REQUESTED, Party.MERCHANT, reasons)
        assert refusal is not None and (refusal.status, refusal.code) == (422, "deliverable_changes_without_reasons")


def test_milestones_follow_the_order_and_dates_never_go_back() -> None:
    m = MilestoneName
    good = [(m.FIRST_DRAFT, date(2027, 1, 1)), (m.GO_LIVE, date(2027, 1, 1)), (m.RECAP, date(2027, 2, 1))]
    assert milestone_problems(good) == []
    swapped = [(m.GO_LIVE, date(2027, 1, 1)), (m.FIRST_DRAFT, date(2027, 1, 5))]
    assert [i for i, _ in milestone_problems(swapped)] == [1]
    back = [(m.FIRST_DRAFT, date(2027, 1, 5)), (m.REVIEW, date(2027, 1, 4))]
    assert milestone_problems(back) == [(1, "due 2027-01-04 is before the previous milestone's (2027-01-05)")]
    twice = [(m.REVIEW, date(2027, 1, 1)), (m.REVIEW, date(2027, 1, 2))]
    assert milestone_problems(twice) == [(1, "milestone 'review' is listed twice")]


def test_fees_are_owed_only_for_deliverables_that_passed_qa_in_exact_fen() -> None:
    assert to_fen(0.1 + 0.2) == 30 and to_fen(199.995) == 20000 and to_fen(0) == 0
    rows = [(S.PASSED_QA.value, 30000), (S.DONE.value, 30000), (S.PASSED_QA.value, 15050), (S.TO_CREATE.value, 1)]
    assert fee_owed_fen(rows) == 45050


def test_units_are_one_per_deliverable_numbered_per_format() -> None:
    lines = [(DeliverableFormat.VIDEO, 2, None), (DeliverableFormat.LIVE, 1, 90), (DeliverableFormat.VIDEO, 1, None)]
    assert deliverable_units(lines) == [("video", 1, None), ("video", 2, None), ("live", 1, 90), ("video", 3, None)]


def test_a_task_is_open_until_its_end() -> None:
    end = datetime(2027, 1, 2)
    assert task_is_open("open", end, datetime(2027, 1, 1)) and not task_is_open("open", end, end)
    assert not task_is_open("closed", None, datetime(2027, 1, 1)) and task_is_open("open", None, end)
