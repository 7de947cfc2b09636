"""A task's deliverables and content review: ``GET /v1/tasks/{task_id}/deliverables``,
``POST /v1/tasks/{task_id}/deliverables/{deliverable_id}/transitions``, ``POST|GET /v1/tasks/{task_id}/submissions``
and ``POST /v1/tasks/{task_id}/submissions/{submission_id}/review``.

Submissions and deliverables are shown only to the task's merchant, the admin and the accepted creator they belong
to (:mod:`serving.task_access`); the state machine is :mod:`recsys.core.workflows.tasks`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response

from serving import task_review_store, task_store
from serving.deps import ClockDep, PrincipalDep, ServiceDep
from serving.errors import forbidden, not_found, responses
from serving.routes.tasks import TaskIdPath
from serving.schemas.tasks import (
    DeliverableList,
    DeliverablePublic,
    ReviewRequest,
    SubmissionCreate,
    SubmissionList,
    SubmissionPublic,
    TransitionRequest,
)
from serving.task_access import actor_of, figures_reader, load_task_or_404, party_of, require_task_merchant
from serving.task_views import deliverable_view, submission_view

router = APIRouter(tags=["tasks"])

DeliverableIdPath = Annotated[str, Path(min_length=1, max_length=200, examples=["dlv-3f9a0c1b2d4e"])]
SubmissionIdPath = Annotated[str, Path(min_length=1, max_length=200, examples=["sub-3f9a0c1b2d4e"])]


def _deliverable(service: Any, task_id: str, deliverable_id: str, reader: str | None) -> dict[str, Any]:
    """The task's deliverable (404 when unknown, on another task, or another creator's)."""
    for record in task_store.list_deliverables(service.store, task_id, reader):
        if record["deliverable_id"] == deliverable_id:
            return record
    raise not_found("deliverable", deliverable_id)


@router.get(
    "/v1/tasks/{task_id}/deliverables",
    response_model=DeliverableList,
    summary="A task's deliverables and their states",
    responses=responses(401, 403, 404, 422),
)
def deliverables(task_id: TaskIdPath, principal: PrincipalDep, service: ServiceDep) -> DeliverableList:
    """Each accepted creator's deliverable units with their state (to_create, in_review, changes_requested,
    to_submit, done, passed_qa), the states they may move to next, the fixed fee and every transition
    (when, who, reasons).

    Who may call: the task's merchant and the admin (all); an accepted creator (its own)."""
    task = load_task_or_404(service.store, task_id)
    reader = figures_reader(service.store, principal, task)
    records = task_store.list_deliverables(service.store, task_id, reader)
    return DeliverableList(task_id=task_id, items=[deliverable_view(r) for r in records])


@router.post(
    "/v1/tasks/{task_id}/deliverables/{deliverable_id}/transitions",
    response_model=DeliverablePublic,
    summary="Move a deliverable to another state",
    responses=responses(401, 403, 404, 409, 422),
)
def move(
    task_id: TaskIdPath,
    deliverable_id: DeliverableIdPath,
    body: TransitionRequest,
    principal: PrincipalDep,
    service: ServiceDep,
    clock: ClockDep,
) -> DeliverablePublic:
    """Move a deliverable by the state machine: the merchant passes QA (`done` → `passed_qa`, the fixed fee becomes
    owed), approves (`in_review` → `to_submit`) or requests changes (`in_review` → `changes_requested`, `reasons`
    needed; either answers the draft under review); the creator's moves happen by submitting
    (`POST /v1/tasks/{task_id}/submissions`; asked for here: 422 `submission_required`). A move the state does
    not allow is 409 `deliverable_transition_not_allowed` naming the current state and the allowed next states; a
    move that is the other party's is 403.

    Who may call: the task's merchant, the accepted creator (its own deliverables) and the admin (any move)."""
    task = load_task_or_404(service.store, task_id)
    reader = figures_reader(service.store, principal, task)
    _deliverable(service, task_id, deliverable_id, reader)
    task_review_store.transition(
        service.store, deliverable_id, body.to_state, party_of(principal), actor_of(principal), body.reasons, clock()
    )
    return deliverable_view(_deliverable(service, task_id, deliverable_id, reader))


@router.post(
    "/v1/tasks/{task_id}/submissions",
    response_model=SubmissionPublic,
    status_code=201,
    summary="Submit a script or the final content for review",
    responses=responses(401, 403, 404, 409, 422),
)
def submit(
    task_id: TaskIdPath,
    body: SubmissionCreate,
    principal: PrincipalDep,
    service: ServiceDep,
    clock: ClockDep,
    response: Response,
) -> SubmissionPublic:
    """Submit the text (script or caption) of a deliverable; it is checked at once against the advertising rules
    (absolute claims, guarantees, missing disclosure, prices below the plan, the brief's required and forbidden
    terms — docs/compliance.md) and the findings come back with their character spans and rule ids. A deliverable
    in `to_create` or `changes_requested` gets a draft (→ `in_review`); one in `to_submit` (draft approved) gets the
    final content, `content_link` needed (→ `done`). Any other state is 409 naming the allowed next states.

    Who may call: the accepted creator (its own deliverables) and the admin."""
    task = load_task_or_404(service.store, task_id)
    reader = figures_reader(service.store, principal, task)
    if principal.is_merchant():
        raise forbidden("submissions are made by the task's creators; the merchant reviews them")
    record = _deliverable(service, task_id, body.deliverable_id, reader)
    if body.creator_id is not None and body.creator_id != record["creator_id"]:
        raise not_found("deliverable", body.deliverable_id)
    submission_id = task_review_store.submit(
        service.store, task, record, body.text, body.content_link, actor_of(principal), party_of(principal), clock()
    )
    response.headers["Location"] = f"/v1/tasks/{task_id}/submissions"
    return _submission_view(service, submission_id)


def _submission_view(service: Any, submission_id: str) -> SubmissionPublic:
    stored = task_store.load_submission(service.store, submission_id)
    assert stored is not None  # just written or just read
    current = task_store.load_deliverable(service.store, stored["deliverable_id"])
    return submission_view(stored, None if current is None else current["state"])


@router.get(
    "/v1/tasks/{task_id}/submissions",
    response_model=SubmissionList,
    summary="A task's submissions",
    responses=responses(401, 403, 404, 422),
)
def submissions(task_id: TaskIdPath, principal: PrincipalDep, service: ServiceDep) -> SubmissionList:
    """Every submission with its findings, rules version and the merchant's decision, oldest first.

    Who may call: the task's merchant and the admin (all); an accepted creator (its own)."""
    task = load_task_or_404(service.store, task_id)
    reader = figures_reader(service.store, principal, task)
    records = task_store.list_submissions(service.store, task_id, reader)
    return SubmissionList(task_id=task_id, items=[submission_view(r) for r in records])


@router.post(
    "/v1/tasks/{task_id}/submissions/{submission_id}/review",
    response_model=SubmissionPublic,
    summary="Approve a draft or request changes",
    responses=responses(401, 403, 404, 409, 422),
)
def review(
    task_id: TaskIdPath,
    submission_id: SubmissionIdPath,
    body: ReviewRequest,
    principal: PrincipalDep,
    service: ServiceDep,
    clock: ClockDep,
) -> SubmissionPublic:
    """`approve`: the draft is accepted and the deliverable moves to `to_submit` (the creator publishes and submits
    the link). `request_changes` with `reasons`: it moves to `changes_requested` and the creator submits a new draft.
    A submission that is not a draft waiting for review is 409 `submission_not_under_review`.

    Who may call: the task's merchant and the admin."""
    task = load_task_or_404(service.store, task_id)
    require_task_merchant(principal, task, "review its submissions")
    stored = task_store.load_submission(service.store, submission_id)
    if stored is None or stored["task_id"] != task_id:
        raise not_found("submission", submission_id)
    approve = body.decision == "approve"
    task_review_store.review(
        service.store, stored, approve, body.reasons, party_of(principal), actor_of(principal), clock()
    )
    return _submission_view(service, submission_id)
