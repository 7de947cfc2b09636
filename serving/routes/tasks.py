"""Tasks: ``POST /v1/tasks``, ``GET /v1/tasks/{task_id}``, ``GET /v1/merchants/{merchant_id}/tasks``,
``GET /v1/tasks/{task_id}/creators`` (recommended), ``GET /v1/creators/{creator_id}/tasks``, invitations,
applications and their answers. Deliverables and submissions: :mod:`serving.routes.task_reviews`.

Who sees what: :mod:`serving.task_access`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response

from models.matching.matcher import UnknownEntity
from recsys.core.vocab import CreatorSort, Role
from serving import task_store, task_writes
from serving.auth import Principal
from serving.deps import (
    ClockDep,
    CreatorIdPath,
    CreatorSelfDep,
    MerchantIdPath,
    MerchantSelfDep,
    PrincipalDep,
    ServiceDep,
)
from serving.errors import ApiError, forbidden, responses
from serving.routes._params import KQuery, page_size
from serving.schemas import CreatorList
from serving.schemas.tasks import (
    TaskAnswer,
    TaskApply,
    TaskCreate,
    TaskCreatorList,
    TaskCreatorPublic,
    TaskDetail,
    TaskInvite,
    TaskList,
)
from serving.task_access import (
    fits_profile,
    load_task_or_404,
    party_of,
    profile_filters,
    require_task_merchant,
    visible_creators,
)
from serving.task_views import creator_view, task_view
from serving.views import creator_item

router = APIRouter(tags=["tasks"])

TaskIdPath = Annotated[str, Path(min_length=1, max_length=200, examples=["task-3f9a0c1b2d4e"])]
POOL_DEPTH = 200  # places of a creator's pool that rank its tasks


def _acting_party(principal: Principal, given: str | None, role: Role, field: str, wrong_role: str) -> str:
    """The tenant a write acts for: ``given`` (``body.<field>``, required) with the admin key, else the key's own
    tenant when its role is ``role`` (403 naming ``wrong_role`` otherwise, or when ``given`` names someone else)."""
    if principal.is_admin:
        if given is None:
            msg = f"needed with the admin key (the {role.value} this is for)"
            raise ApiError(
                422,
                "invalid_request",
                f"body.{field}: {msg}",
                [{"loc": ["body", field], "msg": msg, "type": "missing"}],
            )
        return given
    if principal.role is not role:
        raise forbidden(wrong_role)
    if given is not None and given != principal.tenant_id:
        raise forbidden(f"a {role.value} key acts only for itself; this key belongs to {principal.tenant_id!r}")
    return str(principal.tenant_id)


def _merchant_for(principal: Principal, body: TaskCreate) -> str:
    return _acting_party(
        principal, body.merchant_id, Role.MERCHANT, "merchant_id", "tasks are posted by merchants (and the admin)"
    )


@router.post(
    "/v1/tasks",
    response_model=TaskDetail,
    status_code=201,
    summary="Post a task",
    responses=responses(401, 403, 422, 503),
)
def create_task(
    body: TaskCreate, principal: PrincipalDep, service: ServiceDep, clock: ClockDep, response: Response
) -> TaskDetail:
    """A task on the merchant's own products: goal, deliverables per accepted creator, brief and talking points, the
    terms the content must and must not carry, the disclosure rule, milestones in order (first_draft, review, final,
    go_live, recap) with dates, an optional fixed fee per deliverable (owed once it passes QA) and the target creator
    profile — the filters of creator search, same names and checks. Open to applications until the end of the last
    milestone's day.

    Who may call: merchants (their own shop) and the admin (naming `merchant_id`)."""
    merchant = _merchant_for(principal, body)
    profile = body.target_profile.model_dump(exclude_none=True)
    profile_filters(profile, service.state() if body.target_profile.category else None)
    task_id = task_writes.create_task(service.store, merchant, body, clock())
    response.headers["Location"] = f"/v1/tasks/{task_id}"
    return task_view(load_task_or_404(service.store, task_id), [])


@router.get(
    "/v1/tasks/{task_id}",
    response_model=TaskDetail,
    summary="A task",
    responses=responses(401, 403, 404, 422, 503),
)
def get_task(task_id: TaskIdPath, principal: PrincipalDep, service: ServiceDep, clock: ClockDep) -> TaskDetail:
    """The task. Its merchant and the admin see every creator invited or applying; a creator on the task sees its
    own entry; another creator sees the public task while it is open and the creator fits the target profile
    (otherwise 404, like an unknown task); another merchant gets 403."""
    task = load_task_or_404(service.store, task_id)
    return task_view(task, visible_creators(principal, task, service, clock()))


@router.get(
    "/v1/merchants/{merchant_id}/tasks",
    response_model=TaskList,
    summary="A merchant's tasks",
    responses=responses(401, 403, 422),
)
def merchant_tasks(merchant_id: MerchantIdPath, _caller: MerchantSelfDep, service: ServiceDep) -> TaskList:
    """The merchant's tasks, newest first, each with its creators.

    Who may call: the merchant itself and the admin."""
    tasks = task_store.list_tasks(service.store, merchant_id=merchant_id)
    entries = task_store.task_creators(service.store, [t["task_id"] for t in tasks])
    return TaskList(items=[task_view(t, [e for e in entries if e["task_id"] == t["task_id"]]) for t in tasks])


@router.get(
    "/v1/tasks/{task_id}/creators",
    response_model=CreatorList,
    summary="Recommended creators for a task",
    responses=responses(401, 403, 404, 422, 503),
)
def task_creators(task_id: TaskIdPath, principal: PrincipalDep, service: ServiceDep, k: KQuery = None) -> CreatorList:
    """New creators for the task: each product's creator list (the matcher of `GET /v1/products/{product_id}/creators`
    with the task's target profile as filters, capacity-aware), merged — each creator once, with the product it fits
    best — and ranked by that value. Creators already invited, applying or accepted are left out.

    Who may call: the task's merchant and the admin."""
    task = load_task_or_404(service.store, task_id)
    require_task_merchant(principal, task, "see its recommended creators")
    state = service.state()
    size = page_size(k, service.settings)
    on_task = tuple(e["creator_id"] for e in task_store.task_creators(service.store, [task_id]))
    filters = profile_filters(task["target_profile"], state, exclude=on_task)
    best: dict[str, Any] = {}
    for product_id in task["product_ids"]:
        try:
            recs = state.matcher.recommend_creators(product_id, size, filters, 0, False, CreatorSort.FIT)
        except UnknownEntity:  # a product newer than the model
            continue
        for rec in recs:
            if rec.creator_id not in best or rec.score > best[rec.creator_id].score:
                best[rec.creator_id] = rec
    ranked = sorted(best.values(), key=lambda r: (-r.score, r.creator_id))[:size]
    return CreatorList(model_run_id=state.run_id, items=[creator_item(state, r) for r in ranked])


@router.get(
    "/v1/creators/{creator_id}/tasks",
    response_model=TaskList,
    summary="Tasks that fit a creator",
    responses=responses(401, 403, 404, 422, 503),
)
def creator_tasks(creator_id: CreatorIdPath, _caller: CreatorSelfDep, service: ServiceDep, clock: ClockDep) -> TaskList:
    """Open tasks whose target profile the creator fits, ranked like its product pool: by the best place of a task's
    products in the pool (`pool_rank`, 1 = first), tasks whose products are not in the pool last, newest first.
    Tasks the creator is already on are listed too, with its entry.

    Who may call: the creator itself and the admin."""
    state = service.state()
    if creator_id not in state.bundle.engine.tables.creators:
        raise UnknownEntity("creator", creator_id)
    pool = state.matcher.recommend_products(creator_id, POOL_DEPTH)
    place: dict[str, int] = {}
    for i, rec in enumerate(pool, start=1):
        place.setdefault(rec.product_id, i)
    tasks = task_store.list_tasks(service.store, open_at=clock())
    entries = {
        e["task_id"]: e for e in task_store.task_creators(service.store, [t["task_id"] for t in tasks], creator_id)
    }
    items = []
    for task in tasks:
        if task["task_id"] not in entries and not fits_profile(
            state, creator_id, profile_filters(task["target_profile"], None)
        ):
            continue
        ranks = [place[p] for p in task["product_ids"] if p in place]
        own = [entries[task["task_id"]]] if task["task_id"] in entries else []
        items.append(task_view(task, own, min(ranks) if ranks else None))
    items.sort(key=lambda t: (t.pool_rank is None, t.pool_rank or 0))
    return TaskList(items=items)


@router.post(
    "/v1/tasks/{task_id}/invitations",
    response_model=TaskCreatorList,
    status_code=201,
    summary="Invite creators to a task",
    responses=responses(401, 403, 404, 409, 422),
)
def invite(
    task_id: TaskIdPath, body: TaskInvite, principal: PrincipalDep, service: ServiceDep, clock: ClockDep
) -> TaskCreatorList:
    """Invite 1–50 creators; each accepts or declines (`POST /v1/tasks/{task_id}/participants/{creator_id}/accept`).
    A creator already invited, applying or accepted keeps its entry; one who declined is invited again. 409
    `task_closed` once the task is closed.

    Who may call: the task's merchant and the admin."""
    task = load_task_or_404(service.store, task_id)
    require_task_merchant(principal, task, "invite creators")
    invited = task_writes.invite(service.store, task, body.creator_ids, clock())
    entries = {e["creator_id"]: e for e in task_store.task_creators(service.store, [task_id])}
    return TaskCreatorList(task_id=task_id, items=[creator_view(entries[c]) for c in invited])


@router.post(
    "/v1/tasks/{task_id}/applications",
    response_model=TaskCreatorPublic,
    status_code=201,
    summary="Apply for a task",
    responses=responses(401, 403, 404, 409, 422, 503),
)
def apply(
    task_id: TaskIdPath, body: TaskApply, principal: PrincipalDep, service: ServiceDep, clock: ClockDep
) -> TaskCreatorPublic:
    """The creator applies; the task's merchant accepts or declines the application. Only a creator the task is
    open to may apply (otherwise 404 like an unknown task); an invited creator accepts its invitation instead (409).

    Who may call: a creator (for itself) and the admin (naming `creator_id`)."""
    task = load_task_or_404(service.store, task_id)
    creator = _applicant(principal, body)
    now = clock()
    if not principal.is_admin:
        visible_creators(principal, task, service, now)
    entry = task_writes.apply(service.store, task, creator, body.note, now)
    return creator_view(entry)


def _applicant(principal: Principal, body: TaskApply) -> str:
    return _acting_party(
        principal,
        body.creator_id,
        Role.CREATOR,
        "creator_id",
        "creators apply for tasks; a merchant invites them (POST /v1/tasks/{task_id}/invitations)",
    )


def _answer(
    task_id: str, creator_id: str, accept: bool, body: TaskAnswer | None, principal: Principal, service: Any, now: Any
) -> TaskCreatorPublic:
    task = load_task_or_404(service.store, task_id)
    if principal.is_creator() and principal.tenant_id != creator_id:
        raise forbidden(f"a creator key may only answer for itself; this key belongs to {principal.tenant_id!r}")
    if principal.role is Role.MERCHANT:
        require_task_merchant(principal, task)
    if principal.is_creator():
        visible_creators(principal, task, service, now)
    entry = task_writes.answer(
        service.store, task, creator_id, accept, party_of(principal), body.note if body else None, now
    )
    if accept:
        service.refresh_plans()  # the new collaborations leave the lists and take capacity at once
    return creator_view(entry)


ParticipantPath = Annotated[str, Path(min_length=1, max_length=200, examples=["c00012"])]


@router.post(
    "/v1/tasks/{task_id}/participants/{creator_id}/accept",
    response_model=TaskCreatorPublic,
    summary="Accept an invitation or an application",
    responses=responses(401, 403, 404, 409, 422),
)
def accept(
    task_id: TaskIdPath,
    creator_id: ParticipantPath,
    principal: PrincipalDep,
    service: ServiceDep,
    clock: ClockDep,
    body: TaskAnswer | None = None,
) -> TaskCreatorPublic:
    """Accept a pending entry: the invited creator accepts its invitation, the task's merchant accepts an
    application. The creator gets its deliverables (one per unit, in `to_create`) and a collaboration on each task
    product, counted against its capacity like an accepted invitation. Accepting again changes nothing; a declined
    entry is 409.

    Who may call: the invited creator / the task's merchant (applications), and the admin."""
    return _answer(task_id, creator_id, True, body, principal, service, clock())


@router.post(
    "/v1/tasks/{task_id}/participants/{creator_id}/decline",
    response_model=TaskCreatorPublic,
    summary="Decline an invitation or an application",
    responses=responses(401, 403, 404, 409, 422),
)
def decline(
    task_id: TaskIdPath,
    creator_id: ParticipantPath,
    principal: PrincipalDep,
    service: ServiceDep,
    clock: ClockDep,
    body: TaskAnswer | None = None,
) -> TaskCreatorPublic:
    """Decline a pending entry (the creator an invitation, the merchant an application; `note`: why). Declining
    again changes nothing; an accepted entry is 409.

    Who may call: the invited creator / the task's merchant (applications), and the admin."""
    return _answer(task_id, creator_id, False, body, principal, service, clock())
