"""``recsys keys create|list|revoke``: API keys for the service (stored hashed; a key is shown once)."""

from __future__ import annotations

from typing import Annotated

import typer

from recsys.app.cli._app import app, console, fail

keys_app = typer.Typer(help="API keys for the service (stored hashed; a key is shown once).", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@keys_app.command("create", epilog="Example: recsys keys create --merchant m00003")
def keys_create(
    merchant: Annotated[str | None, typer.Option(help="Create a key for this merchant id.")] = None,
    creator: Annotated[str | None, typer.Option(help="Create a key for this creator id.")] = None,
    admin: Annotated[bool, typer.Option("--admin", help="Create an admin key (all endpoints).")] = False,
) -> None:
    """Create an API key; the key itself is printed on the LAST line (only its sha256 is stored).

    Exactly one of --merchant ID, --creator ID or --admin. The merchant or creator must exist in the store.
    """
    from recsys.core.config import get_settings
    from recsys.core.keys import UnknownTenant, create_key
    from recsys.core.store import Store

    chosen = [name for name, value in (("--merchant", merchant), ("--creator", creator), ("--admin", admin)) if value]
    if len(chosen) != 1:
        raise fail("give exactly one of --merchant ID, --creator ID or --admin")
    role, tenant = ("merchant", merchant) if merchant else ("creator", creator) if creator else ("admin", None)
    store = Store.from_settings(get_settings())
    try:
        key, token = create_key(store, role, tenant)
    except UnknownTenant as exc:
        raise fail(str(exc)) from exc
    finally:
        store.dispose()
    who = "admin" if tenant is None else f"{role} {tenant}"
    console.print(f"created key {key.key_id} for {who}; send it in the X-API-Key header. It is shown only once:")
    print(token)


@keys_app.command("list")
def keys_list() -> None:
    """Active keys: id, role, tenant and creation time (never the keys themselves)."""
    from rich.table import Table

    from recsys.core.config import get_settings
    from recsys.core.keys import list_keys
    from recsys.core.store import Store

    table = Table(title="active API keys")
    for col in ("key id", "role", "tenant", "created (UTC)"):
        table.add_column(col)
    for key in list_keys(Store.from_settings(get_settings())):
        table.add_row(key.key_id, key.role, key.tenant_id or "-", f"{key.created_at:%Y-%m-%d %H:%M:%S}")
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="The key id (`recsys keys list`).")]) -> None:
    """Revoke a key; the service stops accepting it within 10 seconds."""
    from recsys.core.config import get_settings
    from recsys.core.keys import revoke_key
    from recsys.core.store import Store

    if not revoke_key(Store.from_settings(get_settings()), key_id):
        raise fail(f"no active key {key_id!r}")
    console.print(f"revoked {key_id}")
