"""Plans in the store for the plans API: read, check against the rules, write with a new revision.

Checks, in this order, all reported together as reason codes (422 ``plan_refused``):
the rules' :func:`recsys.core.rules.validate_plan` / :func:`recsys.core.rules.validate_plan_update` (commission bounds,
monotone tiers, only raises after launch, ...), and that every listed creator exists
(``plan_listed_creator_unknown``). The row then passes the same validation as an import
(:func:`recsys.core.datasets.validate.validate_rows`) before it is written.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import IntegrityError

from recsys.core.config import Settings
from recsys.core.datasets.importer import StoreLookup
from recsys.core.datasets.validate import validate_rows
from recsys.core.rules import REASONS, PlanTerms, validate_plan, validate_plan_update
from recsys.core.schema import LISTED_PLAN_TYPES, REVISION_COLUMN, SA_TABLES, TABLES
from recsys.core.store import Store
from serving.errors import ApiError, not_found
from serving.schemas import PlanPublic

PLAN_COLUMNS = TABLES["plans"].column_names


def utc_naive(value: datetime | None) -> datetime | None:
    """The store keeps naive UTC; aware times are converted, naive ones are taken as UTC."""
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo is not None else value


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.to_pydatetime()
    if isinstance(value, float) and np.isnan(value):
        return None
    return value


def load_plan(store: Store, plan_id: str) -> dict[str, Any] | None:
    """The stored plan row (schema columns, plain Python values) or None."""
    table = SA_TABLES["plans"]
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(table).where(table.c.plan_id == plan_id)).mappings().first()
    if row is None:
        return None
    return {c: _plain(row[c]) for c in PLAN_COLUMNS}


def _names_creator(creator_ids: Any, creator_id: str, dialect: str) -> sa.ColumnElement[bool]:
    """SQL: the JSON list ``creator_ids`` holds ``creator_id`` (PostgreSQL: JSONB containment; SQLite: json_each)."""
    if dialect == "postgresql":
        return sa.cast(creator_ids, JSONB).contains([creator_id])
    listed = sa.func.json_each(creator_ids).table_valued("value")
    return sa.exists().where(listed.c.value == creator_id)


def load_visible_plan(store: Store, plan_id: str, creator_id: str | None) -> tuple[dict[str, Any], str] | None:
    """The stored plan and its product's merchant in one query, or None — for a creator (``creator_id``) also None
    when the plan is listed (exclusive, targeted) and does not name it. Unknown and hidden plans thus take the same
    path and the same work (the visibility is a condition of the query, not a second step), so neither the answer
    nor its timing tells them apart."""
    plans, products = SA_TABLES["plans"], SA_TABLES["products"]
    query = (
        sa.select(plans, products.c.merchant_id.label("_merchant_id"))
        .outerjoin(products, products.c.product_id == plans.c.product_id)
        .where(plans.c.plan_id == plan_id)
    )
    with store.engine.connect() as conn:
        if creator_id is not None:
            names = _names_creator(plans.c.creator_ids, creator_id, conn.dialect.name)
            query = query.where(sa.or_(plans.c.plan_type.not_in(LISTED_PLAN_TYPES), names))
        row = conn.execute(query).mappings().first()
    if row is None:
        return None
    merchant = row["_merchant_id"]
    return {c: _plain(row[c]) for c in PLAN_COLUMNS}, "" if merchant is None else str(merchant)


def product_merchant(store: Store, product_id: str) -> str | None:
    table = SA_TABLES["products"]
    with store.engine.connect() as conn:
        value = conn.execute(sa.select(table.c.merchant_id).where(table.c.product_id == product_id)).scalar()
    return None if value is None else str(value)


def merchant_exists(store: Store, merchant_id: str) -> bool:
    with store.engine.connect() as conn:
        return bool(store.existing_ids(conn, "merchants", [merchant_id]))


def merchant_plans(store: Store, merchant_id: str) -> list[dict[str, Any]]:
    plans, products = SA_TABLES["plans"], SA_TABLES["products"]
    query = (
        sa.select(plans)
        .join(products, products.c.product_id == plans.c.product_id)
        .where(products.c.merchant_id == merchant_id)
        .order_by(plans.c.plan_id)
    )
    with store.engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [{c: _plain(r[c]) for c in PLAN_COLUMNS} for r in rows]


def terms(record: dict[str, Any]) -> PlanTerms:
    return PlanTerms.from_row(record)


def _refused(codes: list[str], details: list[dict[str, Any]] | None = None) -> ApiError:
    sentences = REASONS
    listed = [{"code": c, "message": sentences.get(c, c)} for c in codes] + (details or [])
    first = listed[0]["message"] if listed else "the plan breaks a rule"
    more = f" (and {len(codes) - 1} more reasons)" if len(codes) > 1 else ""
    return ApiError(422, "plan_refused", f"the plan was refused: {first}{more}", listed)


def _unknown_creators(store: Store, record: dict[str, Any]) -> list[str]:
    ids = [str(c) for c in record.get("creator_ids") or []]
    if record["plan_type"] not in LISTED_PLAN_TYPES or not ids:
        return []
    with store.engine.connect() as conn:
        found = store.existing_ids(conn, "creators", ids)
    return sorted(set(ids) - found)


def check_plan(
    store: Store, record: dict[str, Any], settings: Settings, old: dict[str, Any] | None, now: datetime
) -> None:
    """Raise 422 ``plan_refused`` with every reason code when ``record`` may not be stored."""
    try:
        new_terms = terms(record)
    except ValueError as exc:
        raise ApiError(422, "invalid_request", str(exc)) from None
    codes = (
        validate_plan(new_terms, settings.rules)
        if old is None
        else validate_plan_update(terms(old), new_terms, now, settings.rules)
    )
    unknown = _unknown_creators(store, record)
    details: list[dict[str, Any]] = []
    if unknown:
        codes = [*codes, "plan_listed_creator_unknown"]
        details.append({"code": "plan_listed_creator_unknown", "message": f"unknown creator ids: {unknown[:20]}"})
    if codes:
        raise _refused(codes, details)


def _import_check(store: Store, conn: sa.Connection, record: dict[str, Any], settings: Settings) -> None:
    frame = pd.DataFrame([{c: record.get(c) for c in PLAN_COLUMNS}], columns=PLAN_COLUMNS).astype(object)
    lookup = StoreLookup(store, conn)
    result = validate_rows("plans", frame, settings, lookup, plan_products=lookup.plan_products)
    bad = result.quarantined.get("plans")
    if bad is not None and len(bad):
        reason = str(bad.iloc[0]["reason"])
        raise ApiError(
            422, "plan_refused", f"the plan was refused: {reason}", [{"code": "plan_row_invalid", "message": reason}]
        )


def write_plan(store: Store, record: dict[str, Any], settings: Settings, create: bool) -> int:
    """Store ``record`` in one transaction with a new revision; returns the revision. 409 if a created id exists."""
    table = SA_TABLES["plans"]
    try:
        with store.transaction() as conn:
            _import_check(store, conn, record, settings)
            revision = store.next_revision(conn)
            row = {c: record.get(c) for c in PLAN_COLUMNS}
            if create:
                conn.execute(sa.insert(table).values(**row, **{REVISION_COLUMN: revision}))
            else:
                store.upsert(conn, "plans", [row], revision)
    except IntegrityError:
        raise ApiError(409, "plan_exists", f"plan {record['plan_id']!r} already exists; PATCH it instead") from None
    return revision


def update_plan(
    store: Store,
    plan_id: str,
    edit: Callable[[dict[str, Any]], dict[str, Any]],
    settings: Settings,
    now: datetime,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Apply ``edit`` to the plan as it is now and store the result, checked against that same row; returns
    ``(old, new)``. 404 when the plan is gone, 422 when the rules refuse the edit.

    One transaction holds the row from read to write (``SELECT ... FOR UPDATE`` on PostgreSQL, the write lock
    SQLite's transactions take at their start), so concurrent edits are checked one after another: after launch two
    raises of a commission can never end at the lower one, whatever order they arrive in."""
    table = SA_TABLES["plans"]
    with store.transaction() as conn:
        row = conn.execute(sa.select(table).where(table.c.plan_id == plan_id).with_for_update()).mappings().first()
        if row is None:
            raise not_found("plan", plan_id)
        old = {c: _plain(row[c]) for c in PLAN_COLUMNS}
        new = edit(dict(old))
        check_plan(store, new, settings, old, now)
        _import_check(store, conn, new, settings)
        store.upsert(conn, "plans", [{c: new.get(c) for c in PLAN_COLUMNS}], store.next_revision(conn))
    return old, new


def status(record: dict[str, Any], now: datetime) -> str:
    if now < record["starts_at"]:
        return "scheduled"
    if record.get("ends_at") is not None and now >= record["ends_at"]:
        return "ended"
    budget = record.get("budget")
    if budget is not None and (record.get("budget_spent") or 0.0) >= budget:
        return "budget_spent"
    return "active"


def _aware(value: datetime | None) -> datetime | None:
    return None if value is None else value.replace(tzinfo=UTC)


def public_view(record: dict[str, Any], merchant_id: str, now: datetime, owner: bool) -> PlanPublic:
    """The plan as the API shows it; ``owner`` (merchant or admin) adds creator_ids and the budget."""
    return PlanPublic(
        plan_id=record["plan_id"],
        product_id=record["product_id"],
        merchant_id=merchant_id,
        plan_type=record["plan_type"],
        commission_rate=float(record["commission_rate"]),
        tiers=[[float(m), float(r)] for m, r in record.get("tiers") or []],
        tier_basis=record.get("tier_basis") or "units",
        min_followers=int(record.get("min_followers") or 0),
        allowed_categories=[str(c) for c in record.get("allowed_categories") or []],
        allowed_regions=[str(r) for r in record.get("allowed_regions") or []],
        starts_at=_aware(record["starts_at"]),
        ends_at=_aware(record.get("ends_at")),
        status=status(record, now),
        creator_ids=[str(c) for c in record.get("creator_ids") or []] if owner else None,
        budget=record.get("budget") if owner else None,
        budget_spent=float(record.get("budget_spent") or 0.0) if owner else None,
    )
