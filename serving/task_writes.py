"""Writes of tasks (rules in :mod:`recsys.core.workflows.tasks`, tables in
:mod:`recsys.core.workflows.task_tables`): creating a task, inviting and applying, answering, and moving
deliverables — each inside one store transaction, the rule re-checked on the row as it is at write time, so a write
is acknowledged only once durable and two concurrent answers cannot both win.

Accepting a creator on a task records its deliverable units (one row each, in ``to_create``) and starts a
collaboration per task product in the ``collaborations`` table — the same table accepted invitations write, so the
matcher counts the pair as existing and the creator's capacity this period shrinks
(``serving.invite_store.collaborations_frame``; the caller refreshes the plans).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from recsys.core.schema import COLLABORATIONS, SA_TABLES
from recsys.core.store import Store
from recsys.core.workflows.task_tables import (
    TASK_CREATORS,
    TASK_DELIVERABLES,
    TASK_PRODUCTS,
    TASKS,
)
from recsys.core.workflows.tasks import (
    DeliverableFormat,
    DeliverableState,
    Party,
    TaskCreatorSource,
    TaskCreatorStatus,
    TaskStatus,
    deliverable_units,
    milestone_problems,
    task_is_open,
    to_fen,
)
from serving.errors import ApiError
from serving.schemas.tasks import TaskCreate
from serving.task_review_store import conflict, invalid, new_id, record_transition
from serving.task_store import creator_entry

S = DeliverableState


# --- tasks ----------------------------------------------------------------------------------------------------


def _check_products(store: Store, merchant_id: str, product_ids: list[str]) -> None:
    products = SA_TABLES["products"]
    with store.engine.connect() as conn:
        owners = dict(
            conn.execute(
                sa.select(products.c.product_id, products.c.merchant_id).where(products.c.product_id.in_(product_ids))
            ).all()
        )
    for i, product_id in enumerate(product_ids):
        if product_id not in owners:
            raise invalid(["body", "product_ids", i], f"unknown product {product_id!r}", "unknown_product")
        if owners[product_id] != merchant_id:
            raise invalid(["body", "product_ids", i], f"product {product_id!r} belongs to another merchant", "owner")


def create_task(store: Store, merchant_id: str, body: TaskCreate, now: datetime) -> str:
    """Validate and store a task (422 naming the field); returns its id."""
    product_ids = list(dict.fromkeys(body.product_ids))
    _check_products(store, merchant_id, product_ids)
    for i, message in milestone_problems([(m.name, m.due) for m in body.milestones]):
        raise invalid(["body", "milestones", i], message, "milestone_order")
    last_due = body.milestones[-1].due
    if last_due >= date.max:
        raise invalid(["body", "milestones", len(body.milestones) - 1, "due"], "must be before 9999-12-31")
    ends_at = datetime.combine(last_due + timedelta(days=1), time())
    if ends_at <= now:
        raise invalid(["body", "milestones", len(body.milestones) - 1, "due"], "the last milestone is in the past")
    task_id = new_id("task")
    row = {
        "task_id": task_id,
        "merchant_id": merchant_id,
        "title": body.title,
        "goal": body.goal.value,
        "status": TaskStatus.OPEN.value,
        "brief": body.brief,
        "talking_points": list(body.talking_points),
        "required_terms": list(dict.fromkeys(body.required_terms)),
        "forbidden_terms": list(dict.fromkeys(body.forbidden_terms)),
        "disclosure_required": body.disclosure_required,
        "deliverables": [line.model_dump(mode="json") for line in body.deliverables],
        "milestones": [m.model_dump(mode="json") for m in body.milestones],
        "target_profile": body.target_profile.model_dump(mode="json", exclude_none=True),
        "fee_per_deliverable_fen": None if body.fee_per_deliverable is None else to_fen(body.fee_per_deliverable),
        "starts_at": now,
        "ends_at": ends_at,
        "created_at": now,
    }
    with store.transaction() as conn:
        row["revision"] = store.next_revision(conn)
        conn.execute(sa.insert(TASKS).values(**row))
        conn.execute(
            sa.insert(TASK_PRODUCTS),
            [{"task_id": task_id, "product_id": p, "position": i} for i, p in enumerate(product_ids)],
        )
    return task_id


def _require_open(task: dict[str, Any], now: datetime) -> None:
    if not task_is_open(task["status"], task["ends_at"], now):
        raise conflict("task_closed", f"task {task['task_id']!r} is closed: it takes no more creators")


# --- invitations and applications ----------------------------------------------------------------------------


def invite(store: Store, task: dict[str, Any], creator_ids: list[str], now: datetime) -> list[str]:
    """Invite creators (422 naming unknown ones; 409 on a closed task). A creator already pending or accepted keeps
    its entry; one who declined is invited again. Returns the creator ids in the given order."""
    _require_open(task, now)
    creator_ids = list(dict.fromkeys(creator_ids))
    with store.engine.connect() as conn:
        unknown = sorted(set(creator_ids) - store.existing_ids(conn, "creators", creator_ids))
    if unknown:
        position = creator_ids.index(unknown[0])
        raise invalid(["body", "creator_ids", position], f"unknown creator {unknown[0]!r}", "unknown_creator")
    with store.transaction() as conn:
        revision = store.next_revision(conn)
        for creator in creator_ids:
            _upsert_entry(conn, task["task_id"], creator, TaskCreatorSource.INVITATION, None, now, revision)
    return creator_ids


def apply(store: Store, task: dict[str, Any], creator_id: str, note: str | None, now: datetime) -> dict[str, Any]:
    """A creator applies (409 when the task is closed, or it is already invited or accepted)."""
    _require_open(task, now)
    with store.engine.connect() as conn:
        if not store.existing_ids(conn, "creators", [creator_id]):
            raise invalid(["body", "creator_id"], f"unknown creator {creator_id!r}", "unknown_creator")
    entry = creator_entry(store, task["task_id"], creator_id)
    if entry is not None and entry["status"] == TaskCreatorStatus.ACCEPTED:
        raise conflict("task_creator_already_accepted", f"creator {creator_id!r} is already on the task")
    if entry is not None and entry["status"] == TaskCreatorStatus.PENDING:
        if entry["source"] == TaskCreatorSource.INVITATION:
            raise conflict("task_creator_invited", "the creator is invited to this task: accept the invitation")
        return entry
    with store.transaction() as conn:
        revision = store.next_revision(conn)
        _upsert_entry(conn, task["task_id"], creator_id, TaskCreatorSource.APPLICATION, note, now, revision)
    return creator_entry(store, task["task_id"], creator_id) or {}


def _upsert_entry(
    conn: Connection,
    task_id: str,
    creator_id: str,
    source: TaskCreatorSource,
    note: str | None,
    now: datetime,
    revision: int,
) -> None:
    """A new pending entry, or a declined one made pending again (pending and accepted ones stay as they are)."""
    t = TASK_CREATORS
    where = sa.and_(t.c.task_id == task_id, t.c.creator_id == creator_id)
    status = conn.execute(sa.select(t.c.status).where(where)).scalar_one_or_none()
    values = {
        "source": source.value,
        "status": TaskCreatorStatus.PENDING.value,
        "note": note,
        "created_at": now,
        "answered_at": None,
        "revision": revision,
    }
    if status is None:
        conn.execute(sa.insert(t).values(task_id=task_id, creator_id=creator_id, **values))
    elif status == TaskCreatorStatus.DECLINED:
        conn.execute(sa.update(t).where(where).values(**values))


def _answering_party(source: str) -> Party:
    """Who answers an entry: the creator answers an invitation, the merchant an application."""
    return Party.CREATOR if source == TaskCreatorSource.INVITATION else Party.MERCHANT


def answer(
    store: Store, task: dict[str, Any], creator_id: str, accept: bool, party: Party, note: str | None, now: datetime
) -> dict[str, Any]:
    """Accept or decline a pending invitation or application (idempotent when already so answered)."""
    entry = creator_entry(store, task["task_id"], creator_id)
    if entry is None:
        raise ApiError(404, "not_found", f"creator {creator_id!r} is neither invited to nor applying for the task")
    expected = _answering_party(entry["source"])
    if party is not Party.ADMIN and party is not expected:
        raise ApiError(403, "forbidden", f"a task {entry['source']} is answered by the {expected.value}")
    target = TaskCreatorStatus.ACCEPTED if accept else TaskCreatorStatus.DECLINED
    if entry["status"] == target:
        return entry
    if entry["status"] != TaskCreatorStatus.PENDING:
        raise conflict(
            f"task_creator_already_{entry['status']}",
            f"the {entry['source']} was already {entry['status']}; only a pending one can be answered",
        )
    if accept:
        _require_open(task, now)
    t = TASK_CREATORS
    with store.transaction() as conn:
        revision = store.next_revision(conn)
        changed = conn.execute(
            sa.update(t)
            .where(t.c.task_id == task["task_id"], t.c.creator_id == creator_id, t.c.status == entry["status"])
            .values(status=target.value, answered_at=now, note=note or entry["note"], revision=revision)
        ).rowcount
        if changed and accept:
            _start(conn, task, creator_id, now, revision)
    current = creator_entry(store, task["task_id"], creator_id) or entry
    if current["status"] != target:  # a concurrent answer won
        raise conflict(f"task_creator_already_{current['status']}", f"the {entry['source']} was answered meanwhile")
    return current


def _start(conn: Connection, task: dict[str, Any], creator_id: str, now: datetime, revision: int) -> None:
    """The accepted creator's deliverable units (in to_create) and its collaborations on the task's products."""
    fee = int(task["fee_per_deliverable_fen"] or 0)
    lines = [
        (DeliverableFormat(line["format"]), int(line["quantity"]), line.get("live_minutes"))
        for line in task["deliverables"]
    ]
    for fmt, unit, minutes in deliverable_units(lines):
        deliverable_id = new_id("dlv")
        conn.execute(
            sa.insert(TASK_DELIVERABLES).values(
                deliverable_id=deliverable_id,
                task_id=task["task_id"],
                creator_id=creator_id,
                format=fmt,
                unit=unit,
                live_minutes=minutes,
                state=S.TO_CREATE.value,
                fee_fen=fee,
                created_at=now,
                updated_at=now,
                passed_qa_at=None,
                revision=revision,
            )
        )
        record_transition(conn, deliverable_id, None, S.TO_CREATE, now, "system", None, [])
    existing = set(
        conn.execute(
            sa.select(COLLABORATIONS.c.product_id).where(
                COLLABORATIONS.c.creator_id == creator_id, COLLABORATIONS.c.product_id.in_(task["product_ids"])
            )
        ).scalars()
    )
    for product_id in task["product_ids"]:
        if product_id in existing:  # already collaborating: the task adds no new load
            continue
        conn.execute(
            sa.insert(COLLABORATIONS).values(
                collaboration_id=f"col-{task['task_id']}-{creator_id}-{product_id}",
                creator_id=creator_id,
                product_id=product_id,
                plan_id=f"task:{task['task_id']}",
                source="task",
                source_id=f"{task['task_id']}:{creator_id}:{product_id}",
                started_at=now,
                revision=revision,
            )
        )
