"""Event ingestion: batches of promotion and order rows, validated like an import, idempotent by event id.

One transaction per batch: event ids already in ``events`` (or repeated in the batch) are duplicates and change
nothing; the other rows pass :func:`recsys.core.datasets.validate.validate_rows` (types, ranges, enums, funnels,
references to the store — an order may reference a promotion accepted earlier in the same batch); good rows are
upserted into ``promotions`` / ``orders`` with one new revision and their event ids recorded in ``events``; bad
ones go to ``quarantined_events`` with the reason. Every event gets a result; none is dropped silently.
Accepted events reach features and models at the next ``recsys train`` (then ``POST /v1/admin/reload``).
Funnel events (``exposure``, ``click``, ``add_to_cart``; issue 22) go to ``funnel_events`` instead, checked and
written by :class:`serving.funnel_store.FunnelBatch` in the same transaction; they write no store revision.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from recsys.core.config import Settings
from recsys.core.datasets.importer import StoreLookup
from recsys.core.datasets.records import iter_records
from recsys.core.datasets.validate import REASON, SOURCE_ROW, DatasetError, validate_rows
from recsys.core.schema import EVENTS, QUARANTINED_EVENTS, TABLES
from recsys.core.store import Store, now_utc
from serving.experiment_store import arm_problem, record_event_arms
from serving.funnel_store import FUNNEL_KINDS, FunnelBatch
from serving.ledger_store import order_transition_problems
from serving.schemas import Event, EventBatchResult, EventResult

EVENT_TABLES: dict[str, str] = {"promotion": "promotions", "order": "orders"}
_SCALARS = (str, int, float, bool, type(None))


def _entity_id(event: Event) -> str | None:
    if event.kind in FUNNEL_KINDS:  # funnel events (exposure, click, add_to_cart) have no entity of their own
        return None
    value = event.data.get(TABLES[EVENT_TABLES[event.kind]].key)
    return str(value) if isinstance(value, str | int) and not isinstance(value, bool) else None


def shape_problem(event: Event) -> str | None:
    """Problems validate_rows cannot see: unknown fields and values that are not JSON scalars."""
    if event.kind in FUNNEL_KINDS:  # checked by serving.funnel_store.FunnelBatch.add
        return None
    spec = TABLES[EVENT_TABLES[event.kind]]
    unknown = sorted(set(event.data) - set(spec.column_names))
    if unknown:
        return f"data: unknown field(s) {', '.join(map(repr, unknown[:5]))}; {event.kind} fields are " + ", ".join(
            spec.column_names
        )
    nested = [k for k, v in event.data.items() if not isinstance(v, _SCALARS)]
    if nested:
        return f"{nested[0]}: must be a single value (text, number, true/false or null), not a list or object"
    return None


def _seen(conn: Connection, ids: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        found.update(conn.execute(sa.select(EVENTS.c.event_id).where(EVENTS.c.event_id.in_(chunk))).scalars())
    return found


class _Batch:
    def __init__(self, store: Store, conn: Connection, settings: Settings, events: list[Event]) -> None:
        self.store, self.conn, self.settings, self.events = store, conn, settings, events
        self.results: list[EventResult | None] = [None] * len(events)
        self.received = now_utc()
        self.revision: int | None = None
        self.accepted_rows: list[dict[str, Any]] = []
        self.quarantined_rows: list[dict[str, Any]] = []

    def result(self, i: int, status: str, reason: str | None = None) -> None:
        event = self.events[i]
        self.results[i] = EventResult(
            event_id=event.event_id,
            kind=event.kind,
            status=status,
            entity_id=_entity_id(event),
            reason=reason,
        )

    def quarantine(self, i: int, reason: str) -> None:
        event = self.events[i]
        self.result(i, "quarantined", reason)
        self.quarantined_rows.append(
            {
                "event_id": event.event_id,
                "kind": event.kind,
                "payload": event.data,
                "reason": reason,
                "received_at": self.received,
            }
        )

    def accept(self, i: int) -> None:
        event = self.events[i]
        self.result(i, "accepted")
        self.accepted_rows.append(
            {
                "event_id": event.event_id,
                "kind": event.kind,
                "entity_id": _entity_id(event) or "",
                "payload": event.data,
                "received_at": self.received,
            }
        )

    def apply(self, kind: str, positions: list[int]) -> None:
        """Validate the ``kind`` events at ``positions`` and upsert the good rows."""
        table = EVENT_TABLES[kind]
        columns = TABLES[table].column_names
        frame = pd.DataFrame(
            [{c: self.events[i].data.get(c) for c in columns} for i in positions], columns=columns, dtype=object
        )
        lookup = StoreLookup(self.store, self.conn)
        try:
            result = validate_rows(table, frame, self.settings, lookup, plan_products=lookup.plan_products)
        except (DatasetError, ValueError, TypeError) as exc:  # defensive: every event still gets an answer
            for i in positions:
                self.quarantine(i, f"could not be validated: {exc}")
            return
        bad = result.quarantined.get(table, pd.DataFrame(columns=[SOURCE_ROW, REASON]))
        bad_rows = {int(r) - 1: str(reason) for r, reason in zip(bad[SOURCE_ROW], bad[REASON], strict=True)}
        good = result.good[table]
        if table == "orders" and len(good):  # order states only move forward (recsys.core.rules.settlement)
            refused = order_transition_problems(self.conn, good, self.received, self.settings)
            kept = [pos for pos in range(len(positions)) if pos not in bad_rows]
            bad_rows.update({kept[k]: reason for k, reason in enumerate(refused) if reason is not None})
            good = good[[reason is None for reason in refused]].reset_index(drop=True)
        for pos, i in enumerate(positions):
            if pos in bad_rows:
                self.quarantine(i, bad_rows[pos])
            else:
                self.accept(i)
        if len(good):
            if self.revision is None:
                self.revision = self.store.next_revision(self.conn)
            for records in iter_records(TABLES[table], good, 5_000):
                self.store.upsert(self.conn, table, records, self.revision)

    def run(self) -> None:
        ids = [e.event_id for e in self.events]
        seen = _seen(self.conn, list(dict.fromkeys(ids)))
        first: set[str] = set()
        pending: dict[str, list[int]] = {kind: [] for kind in EVENT_TABLES}
        funnel = FunnelBatch(self.conn, self.events, self.received)
        for i, event in enumerate(self.events):
            if event.event_id in seen or event.event_id in first:
                self.result(i, "duplicate")
                continue
            first.add(event.event_id)
            problem = shape_problem(event) or arm_problem(self.conn, event.experiment, event.arm)
            if problem is None and event.kind in FUNNEL_KINDS:
                problem = funnel.add(event)
                if problem is None:
                    self.accept(i)
                    continue
            if problem is not None:
                self.quarantine(i, problem)
            else:
                pending[event.kind].append(i)
        for kind in EVENT_TABLES:  # promotions first: orders may reference them
            if pending[kind]:
                self.apply(kind, pending[kind])
        funnel.write()  # exposure, click and add-to-cart rows (serving.funnel_store)
        if self.accepted_rows:
            self.conn.execute(sa.insert(EVENTS), self.accepted_rows)
            arms = {e.event_id: (e.experiment, e.arm) for e in reversed(self.events)}  # the first of a repeated id
            record_event_arms(self.conn, self.accepted_rows, arms)  # A/B: the arm the event followed
        if self.quarantined_rows:
            # once per event id: a resent bad event replaces its earlier row (the latest payload and reason), so
            # resending a batch never grows the quarantine; the DELETE takes the write lock first, so concurrent
            # identical batches serialise here
            quarantined = [r["event_id"] for r in self.quarantined_rows]
            for start in range(0, len(quarantined), 900):
                chunk = quarantined[start : start + 900]
                self.conn.execute(sa.delete(QUARANTINED_EVENTS).where(QUARANTINED_EVENTS.c.event_id.in_(chunk)))
            self.conn.execute(sa.insert(QUARANTINED_EVENTS), self.quarantined_rows)


def ingest_events(store: Store, settings: Settings, events: list[Event], attempts: int = 2) -> EventBatchResult:
    """Apply a batch (see the module docstring). A concurrent batch with the same ids is retried once, after
    which those ids read as duplicates."""
    for attempt in range(attempts):
        try:
            with store.transaction() as conn:
                batch = _Batch(store, conn, settings, events)
                batch.run()
            break
        except IntegrityError:
            if attempt == attempts - 1:
                raise
    results = [r for r in batch.results if r is not None]
    return EventBatchResult(
        accepted=sum(r.status == "accepted" for r in results),
        duplicates=sum(r.status == "duplicate" for r in results),
        quarantined=sum(r.status == "quarantined" for r in results),
        revision=batch.revision,
        results=results,
    )
