"""Schema migrations with Alembic: every store is brought to the newest revision when it is opened.

Revisions live in ``recsys/core/migrations/versions`` (0001 is the baseline: the tables as they were when migrations
were introduced; a store created before then is upgraded in place, its rows untouched). One process migrates at a
time — under SQLite's write lock, or a transaction-level advisory lock on PostgreSQL — so replicas starting together
on one store do not race; the others find the store already at the head and do nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command, op
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

SCRIPTS = Path(__file__).with_name("migrations")
_LOCK_KEY = 1_830_118  # pg_advisory_xact_lock key of schema migrations


@dataclass(frozen=True)
class Migration:
    before: str | None  # the store's revision before (None: a new or pre-migration store)
    after: str

    @property
    def changed(self) -> bool:
        return self.before != self.after


def _config(connection: sa.Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@cache
def head() -> str:
    """The newest revision."""
    revision = ScriptDirectory.from_config(_config()).get_current_head()
    if revision is None:  # an installation without the migration scripts
        raise RuntimeError(f"no schema migrations found in {SCRIPTS}")
    return revision


def current(connection: sa.Connection) -> str | None:
    """The store's revision (None before its first migration)."""
    return MigrationContext.configure(connection).get_current_revision()


def create_table_if_new(existing: set[str], name: str, *columns: Any) -> None:
    """``op.create_table`` unless a store from before migrations (or this revision) already has the table."""
    if name not in existing:
        op.create_table(name, *columns)


def create_index_if_new(existing: set[str], name: str, table: str, columns: list[str], unique: bool = False) -> None:
    """``op.create_index`` on a table this revision creates (an existing table came with its indexes)."""
    if table not in existing:
        op.create_index(name, table, columns, unique=unique)


def upgrade(engine: sa.Engine, target: str = "head") -> Migration:
    """Bring the store to ``target`` (the newest revision by default) in one transaction."""
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        elif conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        before = current(conn)
        wanted = head() if target == "head" else target
        if before != wanted:
            command.upgrade(_config(conn), target)
    return Migration(before, wanted)
