"""Who is calling: the ``X-API-Key`` header -> a :class:`Principal` (admin, or a merchant/creator with its id).

Rules (the tenancy checks routes apply through ``serving.deps``):

- no key or an unknown/revoked key -> 401;
- admin keys may call everything;
- a merchant key acts for one merchant: its plans, creators for its products, its shop-level creators;
- a creator key acts for one creator: its product pool, plans offered to it, scores of its own pairs;
- a resource of another tenant -> 403, except plans a creator may not see, which answer exactly like unknown
  plans (404), so the existence of an exclusive or targeted plan never leaks.

Validated keys are cached for :data:`KEY_CACHE_SECONDS` (so revoking a key takes effect within that time).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from fastapi.security import APIKeyHeader

from recsys.core.keys import ApiKey, find_key, hash_key
from recsys.core.store import Store
from recsys.core.vocab import Role
from serving.errors import ApiError, forbidden

KEY_HEADER = "X-API-Key"
KEY_CACHE_SECONDS = 10.0
_KEY_CACHE_MAX = 10_000

api_key_scheme = APIKeyHeader(
    name=KEY_HEADER,
    scheme_name="ApiKey",
    description="Your API key (`recsys keys create --merchant ID | --creator ID | --admin`; `recsys demo` prints "
    "demo keys).",
    auto_error=False,
)


@dataclass(frozen=True)
class Principal:
    """The caller: role and (for merchants and creators) its id."""

    role: Role
    tenant_id: str | None
    key_id: str

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    def is_merchant(self, merchant_id: str | None = None) -> bool:
        return self.role is Role.MERCHANT and (merchant_id is None or self.tenant_id == merchant_id)

    def is_creator(self, creator_id: str | None = None) -> bool:
        return self.role is Role.CREATOR and (creator_id is None or self.tenant_id == creator_id)

    def describe(self) -> str:
        return "the admin key" if self.is_admin else f"the key of {self.role} {self.tenant_id!r}"


class KeyRing:
    """Key lookups against the store with a short positive cache (hash -> key, expiry)."""

    def __init__(self, store: Store, ttl: float = KEY_CACHE_SECONDS) -> None:
        self.store = store
        self.ttl = ttl
        self._cache: dict[str, tuple[ApiKey, float]] = {}
        self._lock = threading.Lock()

    def lookup(self, token: str) -> ApiKey | None:
        digest = hash_key(token)
        now = time.monotonic()
        hit = self._cache.get(digest)
        if hit is not None and hit[1] > now:
            return hit[0]
        key = find_key(self.store, token)
        with self._lock:
            if key is None:
                self._cache.pop(digest, None)
                return None
            if len(self._cache) >= _KEY_CACHE_MAX:
                self._cache.clear()
            self._cache[digest] = (key, now + self.ttl)
        return key

    def forget(self) -> None:
        with self._lock:
            self._cache.clear()


def authenticate(keys: KeyRing, token: str | None) -> Principal:
    """The principal for ``token``; :class:`ApiError` 401 when it is missing or not an active key."""
    if not token:
        raise ApiError(401, "missing_api_key", f"this endpoint needs an API key in the {KEY_HEADER} header")
    key = keys.lookup(token.strip())
    if key is None:
        raise ApiError(401, "invalid_api_key", f"the {KEY_HEADER} header does not hold an active API key")
    return Principal(key.role, key.tenant_id, key.key_id)


def require_admin(principal: Principal) -> Principal:
    if not principal.is_admin:
        raise forbidden(f"this endpoint needs the admin key; the request used {principal.describe()}")
    return principal


def require_creator_self(principal: Principal, creator_id: str) -> None:
    """Admin, or the creator itself."""
    if principal.is_admin or principal.is_creator(creator_id):
        return
    if principal.role is Role.CREATOR:
        raise forbidden(
            f"a creator key may only read its own product pool; this key belongs to {principal.tenant_id!r}"
        )
    raise forbidden("a creator's product pool is only shown to that creator (and the admin), not to merchants")


def require_merchant_self(principal: Principal, merchant_id: str) -> None:
    """Admin, or the merchant itself."""
    if principal.is_admin or principal.is_merchant(merchant_id):
        return
    if principal.role is Role.MERCHANT:
        raise forbidden(f"a merchant key may only act for its own shop; this key belongs to {principal.tenant_id!r}")
    raise forbidden("only the merchant itself (and the admin) may use this endpoint, not creators")


def require_product_owner(principal: Principal, product_id: str, merchant_id: str | None) -> None:
    """Admin, or the merchant owning ``product_id``."""
    if principal.is_admin or (merchant_id is not None and principal.is_merchant(merchant_id)):
        return
    if principal.role is Role.MERCHANT:
        raise forbidden(f"product {product_id!r} belongs to another merchant")
    raise forbidden("creators for a product are only shown to the product's merchant (and the admin)")
