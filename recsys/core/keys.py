"""API keys: creation, hashing and lookup (core layer; the service and the CLI both use it).

A key is ``rk_<key_id>.<secret>``: ``key_id`` (12 hex digits) finds the row, ``secret`` is 32 random bytes
(``secrets.token_urlsafe``). Only the sha256 of the whole key is stored; a lookup compares that hash with
``hmac.compare_digest`` (constant time). Each key belongs to one role: ``admin`` (the platform), ``merchant`` or
``creator`` (then ``tenant_id`` is that merchant's or creator's id). A revoked key never matches again.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from recsys.core.schema import API_KEYS
from recsys.core.store import Store, now_utc
from recsys.core.vocab import Role

ROLES: tuple[str, ...] = tuple(r.value for r in Role)
TENANT_TABLES: dict[Role, str] = {Role.MERCHANT: "merchants", Role.CREATOR: "creators"}
PREFIX = "rk_"
_KEY_ID_HEX = 12


class UnknownTenant(ValueError):
    """A key was requested for a merchant or creator the store does not have."""


@dataclass(frozen=True)
class ApiKey:
    """Who a key belongs to: a role, and for merchants and creators their id."""

    key_id: str
    role: Role
    tenant_id: str | None
    created_at: datetime


def hash_key(token: str) -> str:
    """The stored form of a key: sha256 hex digest of its UTF-8 bytes."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def key_id_of(token: str) -> str | None:
    """The ``key_id`` part of a well-formed key, None for anything else."""
    if not token.startswith(PREFIX):
        return None
    key_id, dot, secret = token[len(PREFIX) :].partition(".")
    if not dot or len(key_id) != _KEY_ID_HEX or not secret:
        return None
    try:
        int(key_id, 16)
    except ValueError:
        return None
    return key_id


def _check_role(role: str, tenant_id: str | None) -> Role:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if role == Role.ADMIN and tenant_id is not None:
        raise ValueError("an admin key has no tenant id")
    if role != Role.ADMIN and not tenant_id:
        raise ValueError(f"a {role} key needs the {role}'s id")
    return Role(role)


def create_key(store: Store, role: str, tenant_id: str | None = None) -> tuple[ApiKey, str]:
    """Create a key for ``role`` (and ``tenant_id``); returns the record and the key itself (shown once).

    Raises :class:`UnknownTenant` when the merchant or creator is not in the store.
    """
    checked = _check_role(role, tenant_id)
    key_id = secrets.token_hex(_KEY_ID_HEX // 2)
    token = f"{PREFIX}{key_id}.{secrets.token_urlsafe(32)}"
    created = now_utc()
    with store.transaction() as conn:
        if tenant_id is not None:
            table = TENANT_TABLES[checked]
            if not store.existing_ids(conn, table, [tenant_id]):
                raise UnknownTenant(f"unknown {checked} {tenant_id!r}: it is not in the store (import it first)")
        conn.execute(
            sa.insert(API_KEYS).values(
                key_id=key_id, key_hash=hash_key(token), role=checked, tenant_id=tenant_id, created_at=created
            )
        )
    return ApiKey(key_id, checked, tenant_id, created), token


def find_key(store: Store, token: str) -> ApiKey | None:
    """The active key ``token`` is, or None (malformed, unknown, wrong secret or revoked)."""
    key_id = key_id_of(token)
    if key_id is None:
        return None
    query = sa.select(API_KEYS).where(API_KEYS.c.key_id == key_id)
    with store.engine.connect() as conn:
        row = conn.execute(query).mappings().first()
    if row is None or row["revoked_at"] is not None:
        return None
    if not hmac.compare_digest(str(row["key_hash"]), hash_key(token)):
        return None
    return ApiKey(str(row["key_id"]), Role(row["role"]), row["tenant_id"], row["created_at"])


def revoke_key(store: Store, key_id: str) -> bool:
    """Revoke a key by id; False when there is no such active key."""
    with store.transaction() as conn:
        result = conn.execute(
            sa.update(API_KEYS)
            .where(API_KEYS.c.key_id == key_id, API_KEYS.c.revoked_at.is_(None))
            .values(revoked_at=now_utc())
        )
    return bool(result.rowcount)


def list_keys(store: Store) -> list[ApiKey]:
    """Active keys (never their secrets), oldest first."""
    query = sa.select(API_KEYS).where(API_KEYS.c.revoked_at.is_(None)).order_by(API_KEYS.c.created_at)
    with store.engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [ApiKey(str(r["key_id"]), Role(r["role"]), r["tenant_id"], r["created_at"]) for r in rows]
