"""Engines for the store's URLs: SQLite files with WAL journaling and a busy timeout, PostgreSQL through psycopg 3."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite files get their folder created, WAL journaling and a busy timeout; a plain
    ``postgresql://`` URL uses psycopg 3 (the driver the project installs)."""
    if url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            _journal_mode_wal(cur)
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True)


def _journal_mode_wal(cur: Any, attempts: int = 60) -> None:
    """Switch a SQLite file to WAL journaling (kept in the file, so later connections find it set). Changing the mode
    needs the file to itself and SQLite answers "database is locked" at once, without its busy timeout, while another
    connection is opening the same new file: retried for up to ~6 s."""
    for attempt in range(attempts):
        try:
            if str(cur.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.1)
