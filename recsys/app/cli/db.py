"""``recsys db upgrade|current``: the store's schema migrations (Alembic; recsys/core/migrate.py)."""

from __future__ import annotations

import typer

from recsys.app.cli._app import app, console

db_app = typer.Typer(
    help="The store's schema: migrations run when a store opens; these commands run or show them on their own.",
    no_args_is_help=True,
)
app.add_typer(db_app, name="db")


@db_app.command("upgrade", epilog="Example: RECSYS_DATABASE_URL=postgresql://app@db/recsys recsys db upgrade")
def db_upgrade() -> None:
    """Bring the configured store (settings.database_url) to the newest schema, in place; rows are kept.

    Run it once before starting new replicas on a shared PostgreSQL store (they would otherwise migrate on start,
    one at a time)."""
    from recsys.core.config import get_settings
    from recsys.core.database import make_engine
    from recsys.core.migrate import upgrade

    settings = get_settings()
    engine = make_engine(settings.resolved_database_url)
    try:
        done = upgrade(engine)
    finally:
        engine.dispose()
    if done.changed:
        console.print(f"store upgraded from {done.before or 'no revision'} to {done.after}")
    else:
        console.print(f"store already at the newest schema ({done.after}); nothing changed")


@db_app.command("current")
def db_current() -> None:
    """The store's schema revision and the newest one this version of the code knows."""
    from recsys.core.config import get_settings
    from recsys.core.database import make_engine
    from recsys.core.migrate import current, head

    engine = make_engine(get_settings().resolved_database_url)
    try:
        with engine.connect() as conn:
            revision = current(conn)
    finally:
        engine.dispose()
    state = "up to date" if revision == head() else "upgrade with: recsys db upgrade"
    console.print(f"store revision {revision or 'none'}; newest {head()} ({state})")
