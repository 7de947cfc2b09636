"""Deliverable moves and content review in the store: a transition checked by the state machine
(:func:`recsys.core.workflows.tasks.transition_refusal`) on the row as it is inside the write transaction and
recorded in ``task_deliverable_transitions``; a submission checked by the compliance rules
(:func:`recsys.core.compliance.check_text`) and stored with its findings and the rules version in the same
transaction as the move it causes.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from recsys.core.compliance import RULES_VERSION, ComplianceContext, check_text
from recsys.core.schema import SA_TABLES
from recsys.core.store import Store
from recsys.core.workflows.task_tables import TASK_DELIVERABLE_TRANSITIONS, TASK_DELIVERABLES, TASK_SUBMISSIONS
from recsys.core.workflows.tasks import DeliverableState, Party, next_states, transition_refusal
from serving.errors import ApiError

S = DeliverableState


def invalid(loc: list[str | int], message: str, kind: str = "value_error") -> ApiError:
    """422 naming the field."""
    parts = [str(p) for p in loc]
    return ApiError(
        422, "invalid_request", f"{'.'.join(parts)}: {message}", [{"loc": parts, "msg": message, "type": kind}]
    )


def conflict(code: str, message: str) -> ApiError:
    return ApiError(409, code, message)


def new_id(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(6)}"


# --- deliverables and submissions -----------------------------------------------------------------------------


def record_transition(
    conn: Connection,
    deliverable_id: str,
    frm: DeliverableState | None,
    to: DeliverableState,
    now: datetime,
    actor: str,
    submission_id: str | None,
    reasons: list[str],
) -> None:
    conn.execute(
        sa.insert(TASK_DELIVERABLE_TRANSITIONS).values(
            deliverable_id=deliverable_id,
            from_state=None if frm is None else frm.value,
            to_state=to.value,
            at=now,
            actor=actor,
            submission_id=submission_id,
            reasons=reasons,
        )
    )


def _move(
    conn: Connection,
    store: Store,
    deliverable_id: str,
    target: DeliverableState,
    party: Party,
    actor: str,
    reasons: list[str],
    now: datetime,
    submission_id: str | None = None,
) -> DeliverableState:
    """Move a deliverable inside ``conn``'s transaction, the rule checked on the row as it is now; returns the
    state it left. 409 / 403 / 422 with the rule's refusal."""
    d = TASK_DELIVERABLES
    row = conn.execute(sa.select(d.c.state).where(d.c.deliverable_id == deliverable_id).with_for_update()).scalar_one()
    state = DeliverableState(row)
    refusal = transition_refusal(state, target, party, reasons)
    if refusal is not None:
        allowed = [s.value for s in next_states(state)]
        detail = {"code": refusal.code, "state": state.value, "allowed_next_states": allowed}
        raise ApiError(refusal.status, refusal.code, refusal.message, [detail])
    stamp = {"passed_qa_at": now} if target is S.PASSED_QA else {}
    conn.execute(
        sa.update(d)
        .where(d.c.deliverable_id == deliverable_id)
        .values(state=target.value, updated_at=now, revision=store.next_revision(conn), **stamp)
    )
    record_transition(conn, deliverable_id, state, target, now, actor, submission_id, reasons)
    return state


def transition(
    store: Store,
    deliverable_id: str,
    target: DeliverableState,
    party: Party,
    actor: str,
    reasons: list[str],
    now: datetime,
) -> None:
    """A move asked for directly (``POST .../transitions``). The moves a submission makes (into ``in_review`` or
    ``done``) need the submission: 422 ``submission_required``. Approving or requesting changes answers the draft
    under review (its decision is recorded as by :func:`review`)."""
    current = _state(store, deliverable_id)
    refusal = transition_refusal(current, target, party, reasons)
    if refusal is None and target in (S.IN_REVIEW, S.DONE):
        message = f"moving a deliverable to {target.value!r} takes a submission: POST /v1/tasks/{{task_id}}/submissions"
        raise ApiError(422, "submission_required", message, [{"loc": ["body", "to_state"], "msg": message}])
    draft = _draft_under_review(store, deliverable_id) if target in (S.TO_SUBMIT, S.CHANGES_REQUESTED) else None
    if draft is not None:
        review(store, draft, target is S.TO_SUBMIT, reasons, party, actor, now)
        return
    with store.transaction() as conn:
        _move(conn, store, deliverable_id, target, party, actor, reasons, now)


def _state(store: Store, deliverable_id: str) -> DeliverableState:
    d = TASK_DELIVERABLES
    with store.engine.connect() as conn:
        return DeliverableState(
            conn.execute(sa.select(d.c.state).where(d.c.deliverable_id == deliverable_id)).scalar_one()
        )


def _draft_under_review(store: Store, deliverable_id: str) -> dict[str, Any] | None:
    """The deliverable's newest draft without a decision."""
    s = TASK_SUBMISSIONS
    query = (
        sa.select(s)
        .where(s.c.deliverable_id == deliverable_id, s.c.stage == "draft", s.c.decision.is_(None))
        .order_by(s.c.submitted_at.desc(), s.c.submission_id.desc())
    )
    with store.engine.connect() as conn:
        row = conn.execute(query).mappings().first()
    return None if row is None else dict(row)


def compliance_context(task: dict[str, Any], plan_prices: tuple[float, ...]) -> ComplianceContext:
    return ComplianceContext(
        disclosure_required=bool(task["disclosure_required"]),
        required_terms=tuple(task["required_terms"]),
        forbidden_terms=tuple(task["forbidden_terms"]),
        plan_prices=plan_prices,
    )


def product_prices(store: Store, product_ids: list[str]) -> tuple[float, ...]:
    products = SA_TABLES["products"]
    with store.engine.connect() as conn:
        prices = conn.execute(sa.select(products.c.price).where(products.c.product_id.in_(product_ids))).scalars()
        return tuple(float(p) for p in prices if p is not None)


def submit(
    store: Store,
    task: dict[str, Any],
    deliverable: dict[str, Any],
    text: str,
    content_link: str | None,
    actor: str,
    party: Party,
    now: datetime,
) -> str:
    """Check ``text`` against the task's rules and record it: a draft (to_create / changes_requested -> in_review)
    or the final content (to_submit -> done, a ``content_link`` needed). Returns the submission id."""
    state = DeliverableState(deliverable["state"])
    final = state is S.TO_SUBMIT
    if final and not content_link:
        raise invalid(["body", "content_link"], "the final content needs its link (the draft was approved)", "missing")
    target = S.DONE if final else S.IN_REVIEW
    findings = check_text(text, compliance_context(task, product_prices(store, task["product_ids"])))
    submission_id = new_id("sub")
    with store.transaction() as conn:
        _move(conn, store, deliverable["deliverable_id"], target, party, actor, [], now, submission_id)
        conn.execute(
            sa.insert(TASK_SUBMISSIONS).values(
                submission_id=submission_id,
                task_id=task["task_id"],
                deliverable_id=deliverable["deliverable_id"],
                creator_id=deliverable["creator_id"],
                stage="final" if final else "draft",
                text=text,
                content_link=content_link,
                findings=[f.to_dict() for f in findings],
                rules_version=RULES_VERSION,
                decision=None,
                reasons=[],
                submitted_at=now,
                decided_at=None,
            )
        )
    return submission_id


def review(
    store: Store,
    submission: dict[str, Any],
    approve: bool,
    reasons: list[str],
    party: Party,
    actor: str,
    now: datetime,
) -> None:
    """The merchant's answer to a draft: approve (in_review -> to_submit) or request changes with reasons
    (-> changes_requested). 409 when the submission is not the draft under review."""
    if submission["stage"] != "draft" or submission["decision"] is not None:
        raise conflict(
            "submission_not_under_review",
            f"submission {submission['submission_id']!r} is not a draft waiting for review"
            + (f" (it was {submission['decision']})" if submission["decision"] else " (it is the final content)"),
        )
    target = S.TO_SUBMIT if approve else S.CHANGES_REQUESTED
    s = TASK_SUBMISSIONS
    with store.transaction() as conn:
        _move(
            conn, store, submission["deliverable_id"], target, party, actor, reasons, now, submission["submission_id"]
        )
        changed = conn.execute(
            sa.update(s)
            .where(s.c.submission_id == submission["submission_id"], s.c.decision.is_(None))
            .values(decision="approved" if approve else "changes_requested", reasons=reasons, decided_at=now)
        ).rowcount
        if not changed:
            raise conflict("submission_not_under_review", "the submission was reviewed meanwhile")
