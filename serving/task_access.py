"""Who may see and do what on a task, and the task's target creator profile as creator-search filters.

- the admin: everything;
- the task's merchant: its tasks, their creators, deliverables, submissions and figures; another merchant: 403;
- a creator on the task (invited, applying or accepted): the task and its own entry; an accepted creator also its
  own deliverables and submissions;
- any other creator: the public task (brief, products, fee, dates) while it is open and the creator fits its target
  profile; otherwise 404 exactly like an unknown task, so a task aimed elsewhere does not leak.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from models.matching.filters import CreatorFilters
from recsys.core.vocab import Role
from recsys.core.workflows.tasks import Party, TaskCreatorStatus, task_is_open
from serving import task_store
from serving.auth import Principal
from serving.errors import ApiError, forbidden, not_found
from serving.routes._params import check_category, checked_creator_filters
from serving.schemas.tasks import TargetProfile
from serving.state import MatcherState


def party_of(principal: Principal) -> Party:
    return Party(principal.role.value)


def actor_of(principal: Principal) -> str:
    return "admin" if principal.is_admin else f"{principal.role.value}:{principal.tenant_id}"


def load_task_or_404(store: Any, task_id: str) -> dict[str, Any]:
    task = task_store.load_task(store, task_id)
    if task is None:
        raise not_found("task", task_id)
    return task


def require_task_merchant(principal: Principal, task: dict[str, Any], what: str = "manage the task") -> None:
    """Admin, or the task's merchant (anyone else: 403)."""
    if principal.is_admin or principal.is_merchant(task["merchant_id"]):
        return
    if principal.role is Role.MERCHANT:
        raise forbidden(f"task {task['task_id']!r} belongs to another merchant")
    raise forbidden(f"only the task's merchant (and the admin) may {what}")


def accepted_creator(store: Any, principal: Principal, task: dict[str, Any]) -> str | None:
    """The caller's creator id when it is accepted on the task, else None."""
    if not principal.is_creator():
        return None
    entry = task_store.creator_entry(store, task["task_id"], str(principal.tenant_id))
    return None if entry is None or entry["status"] != TaskCreatorStatus.ACCEPTED else str(principal.tenant_id)


def figures_reader(store: Any, principal: Principal, task: dict[str, Any]) -> str | None:
    """Whose deliverables and submissions the caller sees: None for all (admin, the task's merchant), a creator
    id for an accepted creator (its own); anyone else 403."""
    if principal.is_admin or principal.is_merchant(task["merchant_id"]):
        return None
    creator = accepted_creator(store, principal, task)
    if creator is not None:
        return creator
    if principal.role is Role.MERCHANT:
        raise forbidden(f"task {task['task_id']!r} belongs to another merchant")
    raise forbidden("a task's deliverables and submissions are shown to its merchant and its accepted creators")


def profile_filters(
    profile: dict[str, Any], state: MatcherState | None, exclude: tuple[str, ...] = ()
) -> CreatorFilters:
    """The target profile as creator-search filters, through the same parsing and checks as
    ``GET /v1/products/{product_id}/creators`` (422 naming ``body.target_profile.<field>``)."""
    target = TargetProfile.model_validate(profile)
    try:
        fields = {name: getattr(target, name) for name in TargetProfile.model_fields}
        filters = checked_creator_filters(CreatorFilters(**fields, exclude=tuple(exclude)))
        if state is not None:
            check_category(state, filters.category)
    except ApiError as exc:
        if exc.status != 422 or not exc.details:
            raise
        field = str(exc.details[0]["loc"][-1])
        message = str(exc.details[0]["msg"])
        loc = ["body", "target_profile", field]
        raise ApiError(
            422, "invalid_request", f"body.target_profile.{field}: {message}", [{**exc.details[0], "loc": loc}]
        ) from None
    return filters


def fits_profile(state: MatcherState, creator_id: str, filters: CreatorFilters) -> bool:
    """Whether the creator passes the task's target profile (the creator-search masks)."""
    tables = state.bundle.engine.tables
    if creator_id not in tables.creators:
        return False
    mask = state.matcher.candidates.creator_filter(filters)
    return True if mask is None else bool(mask[tables.creators.row(creator_id)])


def visible_creators(principal: Principal, task: dict[str, Any], service: Any, now: datetime) -> list[dict[str, Any]]:
    """The creator entries the caller may see on ``task``, after the access check (see the module docstring)."""
    if principal.is_admin or principal.is_merchant(task["merchant_id"]):
        return task_store.task_creators(service.store, [task["task_id"]])
    if principal.role is Role.MERCHANT:
        raise forbidden(f"task {task['task_id']!r} belongs to another merchant")
    creator = str(principal.tenant_id)
    own = task_store.task_creators(service.store, [task["task_id"]], creator)
    if own:
        return own
    if task_is_open(task["status"], task["ends_at"], now):
        state = service.state()
        if fits_profile(state, creator, profile_filters(task["target_profile"], None)):
            return []
    raise not_found("task", task["task_id"])
