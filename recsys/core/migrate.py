"""Schema migrations with Alembic: every store is brought to the newest revision when it is opened.

Revisions live in ``recsys/core/migrations/versions`` (0001 is the baseline: the tables as they were when migrations
were introduced; a store created before then is upgraded in place, its rows untouched). One process migrates at a
time — under SQLite's write lock, or a transaction-level advisory lock on PostgreSQL — so replicas starting together
on one store do not race; the others find the store already at the head and do nothing.

A store already at the newest revision is told so without importing Alembic (~0.5 s of a worker's start): the newest
revision is read from the scripts' ``revision`` / ``down_revision`` lines (:func:`scripted_head`, tested equal to
Alembic's own answer) and compared with the store's ``alembic_version`` row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

if TYPE_CHECKING:
    from alembic.config import Config

SCRIPTS = Path(__file__).with_name("migrations")
_REVISION_LINE = re.compile(r"^(revision|down_revision)\s*(?::[^=]+)?=\s*(None|[\"']([^\"']+)[\"'])\s*$", re.MULTILINE)
_LOCK_KEY = 1_830_118  # pg_advisory_xact_lock key of schema migrations


@dataclass(frozen=True)
class Migration:
    before: str | None  # the store's revision before (None: a new or pre-migration store)
    after: str

    @property
    def changed(self) -> bool:
        return self.before != self.after


def _config(connection: sa.Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@cache
def head() -> str:
    """The newest revision."""
    from alembic.script import ScriptDirectory

    revision = ScriptDirectory.from_config(_config()).get_current_head()
    if revision is None:  # an installation without the migration scripts
        raise RuntimeError(f"no schema migrations found in {SCRIPTS}")
    return revision


def current(connection: sa.Connection) -> str | None:
    """The store's revision (None before its first migration)."""
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def create_table_if_new(existing: set[str], name: str, *columns: Any) -> None:
    """``op.create_table`` unless a store from before migrations (or this revision) already has the table."""
    from alembic import op

    if name not in existing:
        op.create_table(name, *columns)


def create_index_if_new(existing: set[str], name: str, table: str, columns: list[str], unique: bool = False) -> None:
    """``op.create_index`` on a table this revision creates (an existing table came with its indexes)."""
    from alembic import op

    if table not in existing:
        op.create_index(name, table, columns, unique=unique)


@cache
def scripted_head() -> str | None:
    """The newest revision as the scripts in ``migrations/versions`` name it, read as text (no Alembic import): the
    one revision no script revises. None when that is not one revision (a branch, a script this reader cannot parse),
    and then the caller asks Alembic."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for script in (SCRIPTS / "versions").glob("*.py"):
        found = {key: named for key, _, named in _REVISION_LINE.findall(script.read_text(encoding="utf-8"))}
        if "revision" not in found or "down_revision" not in found:
            return None
        revisions.add(found["revision"])
        if found["down_revision"]:
            revised.add(found["down_revision"])
    heads = revisions - revised
    return heads.pop() if len(heads) == 1 else None


def _recorded(conn: sa.Connection) -> str | None:
    """The revision in the store's ``alembic_version`` table, read with plain SQL (None: no table, or no row)."""
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(engine: sa.Engine, target: str = "head") -> Migration:
    """Bring the store to ``target`` (the newest revision by default) in one transaction."""
    if target == "head" and (newest := scripted_head()) is not None:
        with engine.connect() as conn:  # the common case, a store already at the head: no lock, no Alembic
            if _recorded(conn) == newest:
                return Migration(newest, newest)
    from alembic import command

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
