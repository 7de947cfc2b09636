"""Read-only store lookups behind the console's read endpoints: audience shares and sample-request lists."""

from __future__ import annotations

from typing import Any, Literal

import sqlalchemy as sa

from recsys.core.schema import SAMPLE_REQUESTS, SHARE_GROUPS
from recsys.core.store import Store
from serving.sample_store import REQUEST_COLUMNS

MAX_LISTED_REQUESTS = 500


def share_groups(row: dict[str, Any], prefix: Literal["aud", "target"]) -> dict[str, dict[str, float]] | None:
    """``{"gender": {"female": .6, ...}, "age": {...}, "city_tier": {...}}`` of a stored row; None when any share
    is missing (a product without a published target)."""
    groups: dict[str, dict[str, float]] = {}
    for group, keys in SHARE_GROUPS.items():
        values = {key: row.get(f"{prefix}_{key}") for key in keys}
        if any(v is None or v != v for v in values.values()):  # v != v: NaN
            return None
        groups[group] = {key: round(float(v), 4) for key, v in values.items() if v is not None}
    return groups


def audience_rows(store: Store, table: Literal["creators", "products"], ids: list[str]) -> dict[str, dict[str, Any]]:
    """Stored rows of ``table`` by id (unknown ids absent)."""
    key = "creator_id" if table == "creators" else "product_id"
    frame = store.read_rows(table, key, ids)
    records: list[dict[str, Any]] = [{str(k): v for k, v in r.items()} for r in frame.to_dict("records")]
    return {str(r[key]): r for r in records}


def list_sample_requests(
    store: Store, creator_id: str | None = None, merchant_id: str | None = None
) -> list[dict[str, Any]]:
    """A creator's or a merchant's sample requests, newest first (at most :data:`MAX_LISTED_REQUESTS`)."""
    column = SAMPLE_REQUESTS.c.creator_id if creator_id is not None else SAMPLE_REQUESTS.c.merchant_id
    query = (
        sa.select(*[SAMPLE_REQUESTS.c[c] for c in REQUEST_COLUMNS])
        .where(column == (creator_id if creator_id is not None else merchant_id))
        .order_by(SAMPLE_REQUESTS.c.requested_at.desc(), SAMPLE_REQUESTS.c.request_id)
        .limit(MAX_LISTED_REQUESTS)
    )
    with store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]
