"""Events: batches of promotion and order rows, each with an idempotency id."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from serving.schemas.common import InputModel, PublicModel, examples

EventKind = Literal["promotion", "order", "exposure", "click", "add_to_cart"]

_PROMOTION = {
    "promotion_id": "pr900001",
    "creator_id": "c00012",
    "product_id": "p00075",
    "plan_id": "pl00084",
    "started_at": "2026-07-01T12:00:00Z",
    "format": "video",
    "views": 12000,
    "likes": 640,
    "comments": 35,
    "shares": 12,
    "completion_rate": 0.42,
    "clicks": 380,
    "orders": 21,
    "gmv": 2709.0,
    "refunds": 1,
}
_ORDER = {
    "order_id": "o9000001",
    "promotion_id": "pr900001",
    "amount": 129.0,
    "created_at": "2026-07-01T12:30:00Z",
    "confirmed_at": None,
    "refunded_at": None,
    "status": "placed",
}
_CLICK = {
    "creator_id": "c00012",
    "product_id": "p00075",
    "content_format": "video",
    "occurred_at": "2026-07-01T12:10:00Z",
    "count": 42,
    "task_id": None,
}


class Event(InputModel):
    event_id: str = Field(
        min_length=1, max_length=200, description="Idempotency id: a repeated id is not applied twice."
    )
    kind: EventKind
    data: dict[str, Any] = Field(
        description="The row: a promotion (promotion_id, creator_id, product_id, plan_id, started_at, format, views, "
        "likes, comments, shares, completion_rate, clicks, orders, gmv, refunds) or an order (order_id, "
        "promotion_id, amount, created_at, confirmed_at, refunded_at, status). Validated like an import. Funnel kinds "
        "(exposure, click, add_to_cart): creator_id, product_id, content_format (video, live or post), occurred_at, "
        "count (1 to 10,000,000; default 1) and an optional task_id; they feed GET /v1/tasks/{task_id}/report."
    )
    experiment: str | None = Field(
        default=None, max_length=64, description="The A/B experiment whose list this event followed (with `arm`)."
    )
    arm: str | None = Field(
        default=None,
        max_length=64,
        description="The arm that served that list (the response's `arm`); stored with the event for "
        "`recsys ab report`. An unknown experiment or arm quarantines the event.",
    )


class EventBatch(InputModel):
    events: list[Event] = Field(min_length=1, max_length=1000)

    model_config = examples(
        {
            "events": [
                {"event_id": "evt-1", "kind": "promotion", "data": _PROMOTION},
                {"event_id": "evt-2", "kind": "order", "data": _ORDER},
                {"event_id": "evt-3", "kind": "click", "data": _CLICK},
            ]
        }
    )


class EventResult(PublicModel):
    event_id: str
    kind: EventKind
    status: Literal["accepted", "duplicate", "quarantined"] = Field(
        description="accepted: stored now; duplicate: this event id was accepted before (nothing changed); "
        "quarantined: rejected and kept in quarantined_events with the reason."
    )
    entity_id: str | None = Field(
        description="The promotion_id or order_id of the row (null for exposure, click and add_to_cart events)."
    )
    reason: str | None = Field(description="Why the event was quarantined (field and rule).")


class EventBatchResult(PublicModel):
    accepted: int
    duplicates: int
    quarantined: int
    revision: int | None = Field(description="The store revision written (null when nothing was accepted).")
    results: list[EventResult] = Field(description="One per event, in request order.")

    model_config = examples(
        {
            "accepted": 1,
            "duplicates": 0,
            "quarantined": 1,
            "revision": 12,
            "results": [
                {
                    "event_id": "evt-1",
                    "kind": "promotion",
                    "status": "accepted",
                    "entity_id": "pr900001",
                    "reason": None,
                },
                {
                    "event_id": "evt-2",
                    "kind": "order",
                    "status": "quarantined",
                    "entity_id": "o9000001",
                    "reason": "amount: 0 must be above 0",
                },
            ],
        }
    )
