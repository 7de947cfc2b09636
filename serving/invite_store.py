"""Invitations and collaborations in the store (``invites``, ``collaborations``; rules in
:mod:`recsys.core.workflows.invites`).

An invitation batch creates or extends a targeted plan through :mod:`serving.plan_store` (the plan rules, the import
validation, a new revision), then records one invite per creator. Accepting records the collaboration in the same
transaction as the invite's new status (one per invite: accepting twice changes nothing); the matcher counts it
like a promotion (``collaborations_frame`` → ``serving.state.with_promotions``): the pair is existing from then on
and the creator's load this period grows. Declining takes the creator off the plan.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from recsys.core.config import Settings
from recsys.core.schema import COLLABORATIONS, INVITES, SA_TABLES
from recsys.core.store import Store
from recsys.core.vocab import PlanType, Vocabulary
from recsys.core.workflows import (
    InviteAction,
    InviteStatus,
    invite_status,
    invite_transition,
    plan_with_room,
    reason_details,
    validate_invitation,
)
from serving import plan_store
from serving.errors import ApiError
from serving.schemas import InvitePublic

INVITE_COLUMNS = [c.name for c in INVITES.c if c.name != "revision"]


def refused(status: int, codes: list[str], extra: list[dict[str, Any]] | None = None) -> ApiError:
    """A workflow refusal: 422 (input breaks a rule) or 409 (the state does not allow it), every reason listed;
    409s use the first reason as the error code."""
    details = reason_details(codes) + (extra or [])
    code = "invite_refused" if status == 422 else codes[0]
    return ApiError(status, code, f"the invitation was refused: {details[0]['message']}", details)


def _aware(value: datetime | None) -> datetime | None:
    return None if value is None else value.replace(tzinfo=UTC)


def collaboration_id(invite_id: str) -> str:
    return f"col-{invite_id}"


def invite_view(record: dict[str, Any], now: datetime) -> InvitePublic:
    status = invite_status(record["status"], record["expires_at"], now)
    return InvitePublic(
        invite_id=record["invite_id"],
        product_id=record["product_id"],
        merchant_id=record["merchant_id"],
        creator_id=record["creator_id"],
        plan_id=record["plan_id"],
        commission_rate=float(record["commission_rate"]),
        status=status.value,
        created_at=_aware(record["created_at"]),
        expires_at=_aware(record["expires_at"]),
        accepted_at=_aware(record["accepted_at"]),
        declined_at=_aware(record["declined_at"]),
        collaboration_id=collaboration_id(record["invite_id"]) if status is InviteStatus.ACCEPTED else None,
    )


def _select(where: Any) -> sa.Select[Any]:
    return sa.select(*[INVITES.c[c] for c in INVITE_COLUMNS]).where(where)


def load_invite(store: Store, invite_id: str) -> dict[str, Any] | None:
    with store.engine.connect() as conn:
        row = conn.execute(_select(INVITES.c.invite_id == invite_id)).mappings().first()
    return None if row is None else dict(row)


def list_invites(store: Store, creator_id: str | None = None, product_id: str | None = None) -> list[dict[str, Any]]:
    """A creator's or a product's invitations, newest first."""
    where = INVITES.c.creator_id == creator_id if creator_id is not None else INVITES.c.product_id == product_id
    query = _select(where).order_by(INVITES.c.created_at.desc(), INVITES.c.invite_id)
    with store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def _unknown_creators(store: Store, creator_ids: list[str]) -> list[str]:
    with store.engine.connect() as conn:
        return sorted(set(creator_ids) - store.existing_ids(conn, "creators", creator_ids))


def _targeted_plans(store: Store, product_id: str, rate: float, now: datetime) -> list[dict[str, Any]]:
    """The product's running targeted plans at exactly ``rate``, by plan id: the plans an invitation may extend."""
    plans = SA_TABLES["plans"]
    query = (
        sa.select(plans.c.plan_id)
        .where(plans.c.product_id == product_id, plans.c.plan_type == PlanType.TARGETED.value)
        .order_by(plans.c.plan_id)
    )
    with store.engine.connect() as conn:
        ids = list(conn.execute(query).scalars())
    out = []
    for plan_id in ids:
        record = plan_store.load_plan(store, plan_id)
        if record is None or abs(float(record["commission_rate"]) - rate) > 1e-9:
            continue
        if plan_store.status(record, now) == "active":
            out.append(record)
    return out


def _list_on_plan(
    store: Store, settings: Settings, product_id: str, creator_ids: list[str], rate: float, now: datetime
) -> str:
    """Extend a running targeted plan at ``rate`` with room for ``creator_ids``, or create one; returns its id."""
    plans = _targeted_plans(store, product_id, rate, now)
    position = plan_with_room([p.get("creator_ids") or [] for p in plans], creator_ids)
    if position is None:
        record: dict[str, Any] = {
            "plan_id": f"pl-inv-{secrets.token_hex(6)}",
            "product_id": product_id,
            "plan_type": PlanType.TARGETED.value,
            "commission_rate": rate,
            "creator_ids": list(creator_ids),
            "tiers": [],
            "tier_basis": "units",
            "min_followers": 0,
            "allowed_categories": [],
            "allowed_regions": [],
            "starts_at": now,
            "ends_at": None,
            "budget": None,
            "budget_spent": 0.0,
        }
        plan_store.check_plan(store, record, settings, None, now)
        plan_store.write_plan(store, record, settings, create=True)
        return str(record["plan_id"])
    plan_id = str(plans[position]["plan_id"])

    def listing(old: dict[str, Any]) -> dict[str, Any]:  # on the row as it is at write time (a concurrent batch)
        listed = [str(c) for c in old.get("creator_ids") or []]
        return {**old, "creator_ids": listed + [c for c in creator_ids if c not in listed]}

    plan_store.update_plan(store, plan_id, listing, settings, now)
    return plan_id


def invite_creators(
    store: Store,
    settings: Settings,
    product_id: str,
    merchant_id: str,
    creator_ids: list[str],
    rate: float,
    expires_at: datetime,
    now: datetime,
) -> list[dict[str, Any]]:
    """Invite ``creator_ids`` (see the module docstring); returns one invite per creator, in the given order.

    A creator with a pending invitation at the same rate gets it extended to ``expires_at``; one whose invitation
    was accepted keeps it unchanged; a declined or expired one gets a new invitation. 422 ``invite_refused`` /
    ``plan_refused`` with every reason code; 409 ``invite_pending_other_rate``."""
    creator_ids = list(dict.fromkeys(creator_ids))
    codes = validate_invitation(creator_ids, expires_at, now)
    unknown = _unknown_creators(store, creator_ids) if creator_ids else []
    if unknown:
        codes.append("invite_creator_unknown")
    if codes:
        extra = [{"loc": ["body", "creator_ids"], "msg": f"unknown creator ids: {unknown[:20]}"}] if unknown else []
        raise refused(422, codes, extra)
    latest: dict[str, dict[str, Any]] = {}
    for record in reversed(list_invites(store, product_id=product_id)):  # oldest first: the newest wins
        latest[record["creator_id"]] = record
    keep: dict[str, dict[str, Any]] = {}
    for creator in creator_ids:
        record = latest.get(creator)
        status = invite_status(record["status"], record["expires_at"], now) if record else None
        if record is not None and status is InviteStatus.ACCEPTED:
            keep[creator] = record
        elif record is not None and status is InviteStatus.PENDING:
            if abs(float(record["commission_rate"]) - rate) > 1e-9:
                raise refused(
                    409, ["invite_pending_other_rate"], [{"creator_id": creator, "invite_id": record["invite_id"]}]
                )
            keep[creator] = {**record, "expires_at": max(record["expires_at"], expires_at), "extended_at": now}
    fresh = [c for c in creator_ids if c not in keep]
    plan_id = _list_on_plan(store, settings, product_id, fresh, rate, now) if fresh else None
    rows = {
        c: {
            "invite_id": f"inv-{secrets.token_hex(6)}",
            "product_id": product_id,
            "merchant_id": merchant_id,
            "creator_id": c,
            "plan_id": plan_id,
            "commission_rate": rate,
            "status": InviteStatus.PENDING.value,
            "created_at": now,
            "extended_at": None,
            "expires_at": expires_at,
            "accepted_at": None,
            "declined_at": None,
        }
        for c in fresh
    }
    with store.transaction() as conn:
        revision = store.next_revision(conn)
        if rows:
            conn.execute(sa.insert(INVITES), [{**r, "revision": revision} for r in rows.values()])
        for record in keep.values():
            if record.get("extended_at") == now:
                conn.execute(
                    sa.update(INVITES)
                    .where(INVITES.c.invite_id == record["invite_id"])
                    .values(expires_at=record["expires_at"], extended_at=now, revision=revision)
                )
    return [rows.get(c) or keep[c] for c in creator_ids]


def respond(
    store: Store, settings: Settings, record: dict[str, Any], action: InviteAction, now: datetime
) -> dict[str, Any]:
    """Accept or decline ``record`` (409 with the reason when its state does not allow it); idempotent."""
    reason = invite_transition(record["status"], record["expires_at"], action, now)
    if reason is not None:
        raise refused(409, [reason])
    target = InviteStatus.ACCEPTED if action is InviteAction.ACCEPT else InviteStatus.DECLINED
    if record["status"] == target.value:
        return record
    stamp = "accepted_at" if action is InviteAction.ACCEPT else "declined_at"
    changed = 0
    try:
        with store.transaction() as conn:
            revision = store.next_revision(conn)
            changed = conn.execute(
                sa.update(INVITES)
                .where(INVITES.c.invite_id == record["invite_id"], INVITES.c.status == InviteStatus.PENDING.value)
                .values(status=target.value, revision=revision, **{stamp: now})
            ).rowcount
            if changed and action is InviteAction.ACCEPT:
                conn.execute(
                    sa.insert(COLLABORATIONS).values(
                        collaboration_id=collaboration_id(record["invite_id"]),
                        creator_id=record["creator_id"],
                        product_id=record["product_id"],
                        plan_id=record["plan_id"],
                        source="invite",
                        source_id=record["invite_id"],
                        started_at=now,
                        revision=revision,
                    )
                )
    except IntegrityError:  # a concurrent accept recorded the collaboration first
        pass
    current = load_invite(store, record["invite_id"]) or record
    if current["status"] != target.value:  # a concurrent answer won: say why this one cannot apply
        raise refused(
            409, [invite_transition(current["status"], current["expires_at"], action, now) or "invite_expired"]
        )
    if action is InviteAction.DECLINE and changed:
        _delist(store, settings, current, now)
    return current


def _delist(store: Store, settings: Settings, invite: dict[str, Any], now: datetime) -> None:
    """Take a creator who declined off the invitation's targeted plan (ending the plan if it lists nobody else)."""
    old = plan_store.load_plan(store, invite["plan_id"])
    if old is None or invite["creator_id"] not in (old.get("creator_ids") or []):
        return

    def delisted(old: dict[str, Any]) -> dict[str, Any]:  # on the row as it is at write time
        listed = [c for c in old.get("creator_ids") or [] if c != invite["creator_id"]]
        if not listed:
            return {**old, "ends_at": max(now, old["starts_at"] + pd.Timedelta(seconds=1).to_pytimedelta())}
        return {**old, "creator_ids": listed}

    plan_store.update_plan(store, invite["plan_id"], delisted, settings, now)


def collaborations_frame(
    store: Store, since_revision: int | None = None, started_since: datetime | None = None
) -> pd.DataFrame:
    """Accepted collaborations as promotion-like rows (``creator_id, product_id, started_at``) for the market
    state: written after ``since_revision``, or started at or after ``started_since``."""
    query = sa.select(COLLABORATIONS.c.creator_id, COLLABORATIONS.c.product_id, COLLABORATIONS.c.started_at)
    if since_revision is not None:
        query = query.where(COLLABORATIONS.c.revision > since_revision)
    if started_since is not None:
        query = query.where(COLLABORATIONS.c.started_at >= started_since)
    with store.engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]
    frame = pd.DataFrame(rows, columns=["creator_id", "product_id", "started_at"])
    frame["started_at"] = pd.to_datetime(frame["started_at"])
    return frame


def pending_invite_counts(store: Store, now: datetime) -> dict[str, int]:
    """Per creator, the invitations it has not answered yet and that have not expired at ``now``: the room they hold
    in its capacity (``matching.pending_invites``), so further lists stop inviting a creator already invited to its
    limit until it answers."""
    query = (
        sa.select(INVITES.c.creator_id, sa.func.count())
        .where(INVITES.c.status == InviteStatus.PENDING.value, INVITES.c.expires_at > now)
        .group_by(INVITES.c.creator_id)
    )
    with store.engine.connect() as conn:
        return {str(creator): int(n) for creator, n in conn.execute(query)}


def pending_invites_by_row(store: Store, creators: Vocabulary, now: datetime) -> np.ndarray:
    """:func:`pending_invite_counts` as an array over ``creators``' rows (ids the bundle does not know left out)."""
    counts = pending_invite_counts(store, now)
    pending = np.zeros(len(creators))
    if counts:
        rows = creators.rows(np.array(list(counts), dtype=object))
        known = rows >= 0
        np.add.at(pending, rows[known], np.array(list(counts.values()), dtype=np.float64)[known])
    return pending
