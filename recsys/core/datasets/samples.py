"""The optional ``sample_requests`` file of a dataset directory: read, validate, import, export.

Sample requests are not a :data:`recsys.core.schema.TABLES` table (the service writes them through the sample
workflow), but a dataset may carry their history — ``recsys synth`` writes one — so that the features see it
(``Marketplace.sample_requests``, ``features.samples``). The file holds :data:`SAMPLE_REQUESTS_SPEC`'s columns and
is validated like the other tables, after them (its creators, products and content promotions must be in this
import or the store; steps in order; content all-or-nothing, after shipping); bad rows go to the quarantine. Good
rows are upserted into the store's ``sample_requests`` table in the import's transaction, with the product's
merchant and the status their timestamps imply; identical rows are left alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from recsys.core.datasets.io import read_table_file
from recsys.core.datasets.records import column_values
from recsys.core.datasets.validate import DatasetError
from recsys.core.schema import (
    REVISION_COLUMN,
    SA_TABLES,
    SAMPLE_REQUEST_COLUMNS,
    SAMPLE_REQUESTS,
    ColumnSpec,
    TableSpec,
)
from recsys.core.workflows.samples import SampleStatus

SAMPLE_REQUESTS_FILE = "sample_requests"
_OPTIONAL = {"shipped_at", "content_promotion_id", "content_started_at", "content_recorded_at"}

SAMPLE_REQUESTS_SPEC = TableSpec(
    name=SAMPLE_REQUESTS_FILE,
    key="request_id",
    load_order=5,
    references={"creator_id": "creators", "product_id": "products", "content_promotion_id": "promotions"},
    columns=tuple(
        ColumnSpec(name, "datetime" if name.endswith("_at") else "str", required=name not in _OPTIONAL)
        for name in SAMPLE_REQUEST_COLUMNS
    ),
)
"""Columns and references of the file (validated by ``recsys.core.datasets.validate.Validator``)."""


def sample_requests_path(directory: Path) -> Path | None:
    """``sample_requests.parquet`` or ``.csv`` in ``directory`` (None when absent; both is an error)."""
    found = [p for p in (directory / f"{SAMPLE_REQUESTS_FILE}.parquet", directory / f"{SAMPLE_REQUESTS_FILE}.csv")]
    present = [p for p in found if p.exists()]
    if len(present) > 1:
        raise ValueError(f"{directory} has both {present[0].name} and {present[1].name}; keep one")
    return present[0] if present else None


def _status(row: dict[str, Any]) -> str:
    if row["content_promotion_id"] is not None:
        return SampleStatus.CONTENT_POSTED.value
    return (SampleStatus.SHIPPED if row["shipped_at"] is not None else SampleStatus.REQUESTED).value


def store_records(good: pd.DataFrame, merchant_of: dict[str, str]) -> list[dict[str, Any]]:
    """The store rows of validated sample requests: their columns, the product's merchant, the implied status."""
    columns = {name: column_values(good[name]) for name in SAMPLE_REQUEST_COLUMNS}
    records = []
    for i in range(len(good)):
        row = {name: values[i] for name, values in columns.items()}
        row.update(merchant_id=merchant_of[row["product_id"]], status=_status(row))
        records.append(row)
    return records


def merchants_of(conn: Connection, products: pd.DataFrame, product_ids: set[str]) -> dict[str, str]:
    """Merchant id per product id: this import's products first, the store for the rest."""
    found = dict(zip(products["product_id"], products["merchant_id"], strict=True)) if len(products) else {}
    rest = sorted(product_ids - set(found))
    table = SA_TABLES["products"]
    for start in range(0, len(rest), 900):
        query = sa.select(table.c.product_id, table.c.merchant_id).where(
            table.c.product_id.in_(rest[start : start + 900])
        )
        found.update({str(p): str(m) for p, m in conn.execute(query)})
    return found


def upsert_sample_requests(conn: Connection, records: list[dict[str, Any]], revision: int) -> tuple[int, int]:
    """Insert new requests and update changed ones inside ``conn``'s transaction; returns (inserted, updated)."""
    ids = [r["request_id"] for r in records]
    existing: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), 900):
        query = sa.select(SAMPLE_REQUESTS).where(SAMPLE_REQUESTS.c.request_id.in_(ids[start : start + 900]))
        existing.update({str(r["request_id"]): dict(r) for r in conn.execute(query).mappings()})
    fresh = [{**r, REVISION_COLUMN: revision} for r in records if r["request_id"] not in existing]
    changed = [
        r
        for r in records
        if r["request_id"] in existing and any(existing[r["request_id"]][k] != v for k, v in r.items())
    ]
    if fresh:
        conn.execute(sa.insert(SAMPLE_REQUESTS), fresh)
    for r in changed:
        values = {k: v for k, v in r.items() if k != "request_id"}
        stmt = sa.update(SAMPLE_REQUESTS).where(SAMPLE_REQUESTS.c.request_id == r["request_id"])
        conn.execute(stmt.values(**values, **{REVISION_COLUMN: revision}))
    return len(fresh), len(changed)


def read_sample_file(directory: Path) -> tuple[Path, pd.DataFrame] | None:
    """The rows of the directory's sample-requests file as read, or None without one. Raises
    :class:`DatasetError` for two files, an unreadable file or a missing required column."""
    try:
        path = sample_requests_path(Path(directory))
    except ValueError as exc:
        raise DatasetError(str(exc)) from exc
    if path is None:
        return None
    try:
        frame = read_table_file(path)
    except Exception as exc:  # any parser error: the file cannot be read
        raise DatasetError(f"cannot read {path}: {exc}") from exc
    missing = [c.name for c in SAMPLE_REQUESTS_SPEC.columns if c.required and c.name not in frame.columns]
    if missing:
        raise DatasetError(f"{path}: missing required column(s) {', '.join(missing)}")
    return path, frame


def write_sample_requests(conn: Connection, good: dict[str, pd.DataFrame], revision: int) -> tuple[int, int, int]:
    """Upsert the validated sample requests of ``good`` (the import's good rows per table); returns (inserted,
    updated, unchanged)."""
    frame = good[SAMPLE_REQUESTS_FILE]
    products = good.get("products", pd.DataFrame(columns=["product_id", "merchant_id"]))
    merchant_of = merchants_of(conn, products, {str(p) for p in frame["product_id"]})
    inserted, updated = upsert_sample_requests(conn, store_records(frame, merchant_of), revision)
    return inserted, updated, len(frame) - inserted - updated
