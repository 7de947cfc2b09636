"""Demo orders for the demo creator (``recsys demo`` through :mod:`serving.demo_workflows`), so its statement is
not empty: orders on its promotions in every state — settled (paid), settleable, in the after-sale window, placed
and refunded — written through ``POST /v1/events``' ingestion, then a settlement run 10 days back.

Deterministic from ``settings.demo.seed``: the same order ids, amounts and states (dates are days before the time
of the build); seeding again changes nothing (the event ids are the same, so they read as duplicates).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np
import sqlalchemy as sa

from recsys.core.config import Settings
from recsys.core.schema import SA_TABLES
from recsys.core.store import Store, now_utc
from serving.events import ingest_events
from serving.ledger_store import settle_orders
from serving.schemas import Event

# (state, how many, days before now it was confirmed: low, high); refunded ones were confirmed 20-40 days ago
DEMO_ORDER_PLAN: tuple[tuple[str, int, int, int], ...] = (
    ("settled", 10, 30, 55),
    ("settleable", 4, 17, 24),
    ("in_window", 6, 1, 10),
    ("placed", 4, 0, 0),
    ("refunded", 4, 20, 40),
)
SETTLED_UP_TO_DAYS = 10  # the demo's settlement run is as of 10 days ago: later windows stay settleable


def _promotions(store: Store, creator_id: str) -> list[dict[str, Any]]:
    promotions = SA_TABLES["promotions"]
    query = (
        sa.select(promotions.c.promotion_id, promotions.c.started_at, promotions.c.gmv, promotions.c.orders)
        .where(promotions.c.creator_id == creator_id)
        .order_by(promotions.c.promotion_id)
        .limit(3)
    )
    with store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def demo_order_events(promotions: list[dict[str, Any]], seed: int, now: datetime, after_sale_days: int) -> list[Event]:
    """The demo's order events over ``promotions`` (see :data:`DEMO_ORDER_PLAN`), deterministic from ``seed``."""
    rng = np.random.default_rng(seed)
    events: list[Event] = []
    for state, count, low, high in DEMO_ORDER_PLAN:
        for _ in range(count):
            n = len(events) + 1
            promo = promotions[int(rng.integers(len(promotions)))]
            price = float(promo["gmv"]) / max(int(promo["orders"]), 1) or 99.0
            amount = round(max(price * float(rng.uniform(0.6, 1.4)), 9.9), 2)
            confirmed = now - timedelta(days=int(rng.integers(low, high + 1)), hours=int(rng.integers(1, 20)))
            if state == "settleable":
                confirmed = min(confirmed, now - timedelta(days=after_sale_days + 1))
            created = max(confirmed - timedelta(days=int(rng.integers(1, 4))), promo["started_at"])
            data: dict[str, Any] = {
                "order_id": f"demo-o{seed}-{n:03d}",
                "promotion_id": promo["promotion_id"],
                "amount": amount,
                "created_at": _iso(created),
                "confirmed_at": None if state == "placed" else _iso(max(confirmed, created)),
                "refunded_at": _iso(max(confirmed, created) + timedelta(days=3)) if state == "refunded" else None,
                "status": {"placed": "placed", "refunded": "refunded"}.get(state, "confirmed"),
            }
            events.append(Event(event_id=f"demo-order-{seed}-{n:03d}", kind="order", data=data))
    return events


def seed_demo_orders(settings: Settings, store: Store, creator_id: str, now: datetime | None = None) -> dict[str, int]:
    """Write the demo creator's orders and settle what was due 10 days ago; returns the counts written."""
    promotions = _promotions(store, creator_id)
    if not promotions:
        return {"orders": 0, "settled": 0}
    when = now or now_utc()
    events = demo_order_events(promotions, settings.demo.seed, when, settings.rules.after_sale_days)
    result = ingest_events(store, settings, events)
    run = settle_orders(store, when - timedelta(days=SETTLED_UP_TO_DAYS), settings)
    return {"orders": result.accepted, "settled": run.orders}
