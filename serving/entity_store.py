"""Writing one merchant, product or creator through the API, validated exactly like an import row.

The row goes through :func:`recsys.core.datasets.validate.validate_rows` (types, ranges, share groups, enums,
references to the store, extra columns) and, when good, is upserted with a new store revision in one transaction
(``Store.upsert``: an identical row is left alone, so the same PUT twice is one entity and one answer). A bad row is
never stored: each reason of the import (``"<field>: <rule> ..."``) becomes one 422 detail naming the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from typing import Any

import numpy as np
import pandas as pd

from recsys.core.config import Settings
from recsys.core.datasets.importer import StoreLookup
from recsys.core.datasets.records import iter_records
from recsys.core.datasets.validate import REASON, validate_rows
from recsys.core.schema import EXTRA_COLUMN, TABLES
from recsys.core.store import Store
from serving.errors import ApiError
from serving.plan_store import utc_naive


class _Unchanged(Exception):
    """Raised inside the write transaction when the stored row is identical, to roll back the revision bump."""


@dataclass(frozen=True)
class Written:
    """The entity as stored, whether the PUT created it, and the store revision of the write."""

    record: dict[str, Any]
    created: bool
    revision: int


def field_problems(reasons: str, fields: list[str]) -> list[dict[str, Any]]:
    """The import's joined reasons as 422 details: ``loc`` names the field each reason starts with."""
    details = []
    for reason in reasons.split("; "):
        head = reason.split(":", 1)[0].strip()
        field = head if head in fields else (next((f for f in fields if reason.startswith(f)), None) or "body")
        loc = ["body"] if field == "body" else ["body", field]
        details.append({"loc": loc, "msg": reason, "type": "import_rule"})
    return details


def _row(table: str, entity_id: str, body: dict[str, Any]) -> dict[str, Any]:
    spec = TABLES[table]
    row: dict[str, Any] = {spec.key: entity_id}
    for name in spec.column_names:
        if name != spec.key:
            value = body.get(name)
            row[name] = _utc(name, value) if hasattr(value, "tzinfo") else value
    for name, value in (body.get(EXTRA_COLUMN) or {}).items():
        if name in row or name == EXTRA_COLUMN:
            raise ApiError(
                422,
                "invalid_request",
                f"body.extra.{name}: an extra column may not repeat a field of the schema",
                [{"loc": ["body", "extra", name], "msg": "repeats a schema field", "type": "import_rule"}],
            )
        row[name] = value
    return row


def _utc(name: str, value: Any) -> Any:
    try:
        return utc_naive(value)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+05:00 has no UTC time
        raise ApiError(
            422,
            "invalid_request",
            f"body.{name}: the time is out of range in UTC",
            [{"loc": ["body", name], "msg": "out of range in UTC", "type": "datetime_range"}],
        ) from None


def read_entity(store: Store, table: str, entity_id: str) -> dict[str, Any] | None:
    """The stored row (extras under ``extra``), or None."""
    frame = store.read_rows(table, TABLES[table].key, [entity_id])
    if frame.empty:
        return None
    spec = TABLES[table]
    raw = frame.iloc[0].to_dict()
    record: dict[str, Any] = {name: _plain(raw.get(name)) for name in spec.column_names}
    extras = {k: _plain(v) for k, v in raw.items() if k not in spec.column_names}
    record[EXTRA_COLUMN] = extras or None
    return record


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime().replace(tzinfo=UTC)  # the store keeps naive UTC
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and np.isnan(value):
        return None
    return value


def put_entity(store: Store, settings: Settings, table: str, entity_id: str, body: dict[str, Any]) -> Written:
    """Validate and upsert one row of ``table`` (see the module docstring); 422 naming each bad field."""
    spec = TABLES[table]
    row = _row(table, entity_id, body)
    frame = pd.DataFrame([row], columns=list(row), dtype=object)
    with store.engine.connect() as conn:
        result = validate_rows(table, frame, settings, StoreLookup(store, conn))
    bad = result.quarantined.get(table)
    if bad is not None and len(bad):
        reasons = str(bad[REASON].iloc[0])
        details = field_problems(reasons, list(row))
        raise ApiError(422, "invalid_request", f"the {table[:-1]} was refused: {reasons}", details)
    try:
        with store.transaction() as conn:
            created = not store.existing_ids(conn, table, [entity_id])
            revision = store.next_revision(conn)
            changed = sum(store.upsert(conn, table, r, revision) for r in iter_records(spec, result.good[table], 10))
            if not changed:
                raise _Unchanged  # roll back the revision: workers have nothing to refresh
    except _Unchanged:
        created, revision = False, store.current_revision()
    record = read_entity(store, table, entity_id)
    assert record is not None  # just written
    return Written(record, created, revision)
