"""Demo funnel events for the demo's tasks (issue 22; called by the task demo seeding right after it seeds tasks),
so every task report has figures: for each accepted (creator, product) pair of each task, exposure, click and
add-to-cart events in two content formats, and a few orders on a promotion of the pair — all written through
``POST /v1/events``' ingestion (:func:`serving.events.ingest_events`).

Deterministic from ``settings.demo.seed`` and the task ids: the same event ids and counts; seeding again changes
nothing (the ids read as duplicates). Times fall inside the task's window, at most a week before ``now``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zlib import crc32

import numpy as np
import sqlalchemy as sa

from recsys.core.config import Settings
from recsys.core.schema import SA_TABLES
from recsys.core.store import Store, now_utc
from serving import funnel_store
from serving.events import ingest_events
from serving.schemas import Event
from serving.task_store import TaskScope

DEMO_FORMATS = ("video", "live")
"""Each pair gets events in these content formats (so the report's per-format rows differ)."""
DEMO_ORDERS_PER_PAIR = 3


def seed_demo_funnel(
    settings: Settings, store: Store, task_ids: Sequence[str], now: datetime | None = None
) -> dict[str, int]:
    """Write funnel events and orders for the tasks' accepted (creator, product) pairs; returns the counts written
    (``funnel_events``, ``orders``; a task without accepted creators adds nothing)."""
    when = (now or now_utc()).replace(tzinfo=None)
    written = {"funnel_events": 0, "orders": 0}
    for task_id in task_ids:
        scope = funnel_store.load_scope(store, task_id)
        if scope is None:
            continue
        rng = np.random.default_rng([settings.demo.seed, crc32(task_id.encode())])
        base = _base_time(scope, when)
        events: list[Event] = []
        orders: list[Event] = []
        for creator_id in scope.creator_ids:
            for product_id in scope.product_ids:
                events += _pair_events(task_id, creator_id, product_id, base, rng)
                orders += _pair_orders(store, task_id, creator_id, product_id, base, rng)
        if events:
            written["funnel_events"] += ingest_events(store, settings, events).accepted
        if orders:  # the promotion first, then its orders (one batch: orders may reference it)
            result = ingest_events(store, settings, orders)
            written["orders"] += sum(r.status == "accepted" and r.kind == "order" for r in result.results)
    return written


def _base_time(scope: TaskScope, now: datetime) -> datetime:
    """A moment inside the task's window: a week before now (or four hours before its end), not before its start."""
    start = scope.starts_at.replace(tzinfo=None)
    base = now - timedelta(days=7)
    if scope.ends_at is not None:
        base = min(base, scope.ends_at.replace(tzinfo=None) - timedelta(hours=4))
    return max(start + timedelta(minutes=1), base)


def _iso(value: datetime) -> str:
    return value.isoformat() + "Z"


def _pair_events(
    task_id: str, creator_id: str, product_id: str, base: datetime, rng: np.random.Generator
) -> list[Event]:
    events = []
    for k, content_format in enumerate(DEMO_FORMATS):
        exposure = int(rng.integers(2_000, 20_000))
        clicks = int(exposure * rng.uniform(0.02, 0.08))
        carts = int(clicks * rng.uniform(0.1, 0.3))
        for kind, count in (("exposure", exposure), ("click", clicks), ("add_to_cart", carts)):
            data = {
                "creator_id": creator_id,
                "product_id": product_id,
                "content_format": content_format,
                "occurred_at": _iso(base + timedelta(hours=2 + k)),
                "count": max(count, 1),
                "task_id": task_id,
            }
            event_id = f"demo-funnel-{task_id}-{creator_id}-{product_id}-{content_format}-{kind}"
            events.append(Event(event_id=event_id, kind=kind, data=data))
    return events


def _plan_for(store: Store, product_id: str) -> dict[str, Any] | None:
    """An open plan of the product (any plan when it has no open one), for the demo promotion."""
    plans = SA_TABLES["plans"]
    query = sa.select(plans).where(plans.c.product_id == product_id).order_by(plans.c.plan_type != "open")
    with store.engine.connect() as conn:
        row = conn.execute(query.limit(1)).mappings().first()
    return None if row is None else dict(row)


def _pair_orders(
    store: Store, task_id: str, creator_id: str, product_id: str, base: datetime, rng: np.random.Generator
) -> list[Event]:
    """A live promotion of the pair and :data:`DEMO_ORDERS_PER_PAIR` placed orders on it."""
    plan = _plan_for(store, product_id)
    if plan is None:
        return []
    promotion_id = f"demo-pr-{crc32(f'{task_id}/{creator_id}/{product_id}'.encode()):08x}"
    amounts = [round(float(rng.uniform(59, 299)), 2) for _ in range(DEMO_ORDERS_PER_PAIR)]
    promotion = {
        "promotion_id": promotion_id,
        "creator_id": creator_id,
        "product_id": product_id,
        "plan_id": plan["plan_id"],
        "started_at": _iso(base + timedelta(hours=1)),
        "format": DEMO_FORMATS[1],
        "views": 5_000,
        "likes": 200,
        "comments": 20,
        "shares": 5,
        "completion_rate": 0.3,
        "clicks": 300,
        "orders": len(amounts),
        "gmv": round(sum(amounts), 2),
        "refunds": 0,
    }
    events = [Event(event_id=f"demo-funnel-{promotion_id}", kind="promotion", data=promotion)]
    for n, amount in enumerate(amounts, start=1):
        order = {
            "order_id": f"{promotion_id}-o{n}",
            "promotion_id": promotion_id,
            "amount": amount,
            "created_at": _iso(base + timedelta(hours=3, minutes=n)),
            "confirmed_at": None,
            "refunded_at": None,
            "status": "placed",
        }
        events.append(Event(event_id=f"demo-funnel-{promotion_id}-o{n}", kind="order", data=order))
    return events
