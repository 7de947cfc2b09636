"""A creator's daily GMV trend, read from the store's ``promotions`` table in one grouped query.

Each promotion's GMV and orders count on the day it started (``started_at``, UTC): the dataset stores a
promotion's totals, not per-day sales, so a promotion that sold for a week shows all of it on its first day.
Promotions the service accepted as events (``POST /v1/events``) are upserted into the same table, so they count as
soon as their batch is acknowledged (no retraining needed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa

from recsys.core.schema import SA_TABLES
from recsys.core.store import Store


@dataclass(frozen=True)
class TrendDay:
    """One UTC day of a creator's promotions (zero when nothing started that day)."""

    day: date
    gmv: float
    orders: int
    promotions: int


def window(as_of: datetime, days: int) -> tuple[date, date]:
    """The ``days`` UTC days ending with ``as_of``'s day (both ends included)."""
    last = as_of.date()
    return last - timedelta(days=days - 1), last


def _day(value: Any) -> date:
    """A grouped day as a date: SQLite's ``date()`` gives text ``YYYY-MM-DD``, PostgreSQL's a date."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def creator_exists(store: Store, creator_id: str) -> bool:
    creators = SA_TABLES["creators"]
    query = sa.select(creators.c.creator_id).where(creators.c.creator_id == creator_id).limit(1)
    with store.engine.connect() as conn:
        return conn.execute(query).first() is not None


def daily_trend(store: Store, creator_id: str, first: date, last: date) -> list[TrendDay]:
    """Every day from ``first`` to ``last`` with the GMV, orders and number of the creator's promotions that
    started on it: one ``GROUP BY date(started_at)`` query (``date()`` exists on SQLite and PostgreSQL), days
    without a promotion filled with zeros."""
    promotions = SA_TABLES["promotions"]
    day = sa.func.date(promotions.c.started_at)
    query = (
        sa.select(
            day.label("day"),
            sa.func.coalesce(sa.func.sum(promotions.c.gmv), 0.0).label("gmv"),
            sa.func.coalesce(sa.func.sum(promotions.c.orders), 0).label("orders"),
            sa.func.count().label("promotions"),
        )
        .where(
            promotions.c.creator_id == creator_id,
            promotions.c.started_at >= datetime.combine(first, time.min),
            promotions.c.started_at < datetime.combine(last + timedelta(days=1), time.min),
        )
        .group_by(day)
    )
    with store.engine.connect() as conn:
        found = {_day(r.day): r for r in conn.execute(query)}
    out = []
    for offset in range((last - first).days + 1):
        current = first + timedelta(days=offset)
        row = found.get(current)
        if row is None:
            out.append(TrendDay(current, 0.0, 0, 0))
        else:
            out.append(TrendDay(current, round(float(row.gmv), 2), int(row.orders), int(row.promotions)))
    return out
