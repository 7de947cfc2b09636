"""``POST /v1/events``: batches of promotion and order events."""

from __future__ import annotations

from fastapi import APIRouter

from serving.deps import AdminDep, ServiceDep, SettingsDep
from serving.errors import ApiError, responses
from serving.events import ingest_events
from serving.schemas import EventBatch, EventBatchResult

router = APIRouter(tags=["events"])


@router.post(
    "/v1/events",
    response_model=EventBatchResult,
    summary="Ingest promotion and order events",
    responses=responses(401, 403, 422),
)
def post_events(body: EventBatch, _admin: AdminDep, service: ServiceDep, settings: SettingsDep) -> EventBatchResult:
    """Each event carries an `event_id` (idempotency key), a `kind` (promotion or order) and the row in `data`.
    Rows get the same validation as `recsys import`; good rows are stored at once (one new store revision per
    batch), bad ones are kept in `quarantined_events` and answered with their reason; an event id seen before
    answers `duplicate` and changes nothing. An accepted promotion makes its pair an existing collaboration
    at once (lists leave it out, the creator's load grows); events reach the features and models at the next
    `recsys train` (then `POST /v1/admin/reload`).

    Who may call: the admin key (the platform's order and content pipelines)."""
    if len(body.events) > settings.serving.max_events:
        message = f"at most {settings.serving.max_events} events per call"
        raise ApiError(
            422,
            "invalid_request",
            f"body.events: {message}",
            [{"loc": ["body", "events"], "msg": message, "type": "too_long"}],
        )
    result = ingest_events(service.store, settings, body.events)
    service.refresh_plans()
    return result
