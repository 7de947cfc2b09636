"""The store: SQLAlchemy 2 over an SQLite file (default, WAL mode) or PostgreSQL (by URL), same code.

Writes go through :meth:`Store.upsert`, which inserts new rows, updates changed ones and leaves identical rows
untouched (so importing the same data twice changes nothing). Every write transaction takes a new *revision*
number and stamps it on the rows it changed; services use it to refresh incrementally.
"""

from __future__ import annotations

import contextlib
import math
import os
import secrets
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

import recsys.core.experiments  # noqa: F401  (registers the A/B experiment tables on METADATA)
from recsys.core.config import Settings
from recsys.core.database import make_engine
from recsys.core.schema import (
    EXTRA_COLUMN,
    REVISION_COLUMN,
    REVISIONS,
    SA_TABLES,
    SAMPLE_REQUEST_COLUMNS,
    SAMPLE_REQUESTS,
    TABLES,
    Marketplace,
    TableSpec,
    sample_requests_frame,
)
from recsys.core.workflows import (
    funnel_tables,  # noqa: F401  (registers the funnel events table on METADATA)
    ledger_tables,  # noqa: F401  (registers the ledger tables on METADATA)
    task_tables,  # noqa: F401  (registers the task tables on METADATA)
)

_CHUNK = 20_000
_READ_CHUNK = 100_000  # rows per fetch when reading a table
INSTANCE = "store_instance"  # the revisions row holding Store.instance()


def _python_value(value: Any) -> Any:
    """A value as the DB driver wants it: no numpy scalars, no NaN/NaT, datetimes as ``datetime``."""
    if value is None:
        return None
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.to_pydatetime()
    if isinstance(value, np.ndarray):
        return [_python_value(v) for v in value.tolist()]
    if isinstance(value, list | tuple):
        return [_python_value(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NaT:
        return None
    return value


class StoreFault(RuntimeError):
    """The store is not the one the process opened (an SQLite file deleted or replaced) or does not answer: a write
    now would not be durable. The message is one short sentence naming the cause."""


def _sqlite_path(url: str) -> Path | None:
    if not url.startswith("sqlite:///") or url == "sqlite:///:memory:":
        return None
    return Path(url.removeprefix("sqlite:///").split("?", 1)[0]).absolute()  # as opened, whatever the cwd later


class Store:
    """The marketplace store. ``Store.from_settings(settings)`` opens the configured database.

    The store checks that it is still the one it opened: an SQLite file's identity (device and inode) is recorded
    once the schema exists and compared before and after every write transaction (:meth:`transaction`); PostgreSQL
    is asked ``SELECT 1`` by :meth:`fault`. A fault raises :class:`StoreFault`, so no write is acknowledged that
    went to a file nobody will read again.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._path = _sqlite_path(url)
        self._identity: tuple[int, int] | None = None
        self._pin: int | None = None  # a read-only descriptor of the SQLite file (pin_file)

    @classmethod
    def from_settings(cls, settings: Settings) -> Store:
        store = cls(settings.resolved_database_url)
        store.create_schema()
        return store

    def create_schema(self) -> None:
        """Bring the tables to the newest schema migration (:mod:`recsys.core.migrate`), creating them in a new store;
        idempotent, and a store from an older version is upgraded in place."""
        from recsys.core.migrate import upgrade

        upgrade(self.engine)
        with self.engine.begin() as conn:  # the revision counter, once (stores opened at once both try)
            insert_fn = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
            conn.execute(insert_fn(REVISIONS).values(name="data", value=0).on_conflict_do_nothing())
            instance = secrets.randbits(62)  # who this store is: caches of its rows (serving.market_snapshot) say
            conn.execute(insert_fn(REVISIONS).values(name=INSTANCE, value=instance).on_conflict_do_nothing())
        if self._path is not None and self._identity is None:
            st = os.stat(self._path)
            self._identity = (st.st_dev, st.st_ino)

    def dispose(self) -> None:
        self.engine.dispose()
        if self._pin is not None:  # after the connections: closing a descriptor drops the process's SQLite locks
            os.close(self._pin)
            self._pin = None

    def pin_file(self) -> None:
        """Hold the SQLite file open (read-only) until :meth:`dispose`, for a long-running service: its inode then
        cannot be freed and reused by a new file at the same path, so a deleted file is always told from a fresh one
        (and its link count says it was deleted). Never closed before ``dispose``: closing any descriptor of an
        SQLite file releases the locks its connections hold."""
        if self._path is None or self._pin is not None:
            return
        self._pin = os.open(self._path, os.O_RDONLY)
        st = os.fstat(self._pin)
        self._identity = (st.st_dev, st.st_ino)

    @property
    def is_file(self) -> bool:
        """An SQLite file (its health is a ``stat`` call, no query)."""
        return self._path is not None or self.url.startswith("sqlite")

    def file_fault(self) -> str | None:
        """One sentence when the SQLite file is no longer the one opened (deleted, moved or replaced); else None.
        A ``stat`` call: cheap enough for every write."""
        if self._path is None or self._identity is None:
            return None
        if self._pin is not None and os.fstat(self._pin).st_nlink == 0:
            return f"the store file {self._path} was deleted after the service opened it"
        try:
            st = os.stat(self._path)
        except OSError:
            return f"the store file {self._path} was deleted or moved after the service opened it"
        if (st.st_dev, st.st_ino) != self._identity:
            return f"the store file {self._path} was replaced after the service opened it"
        return None

    def fault(self) -> str | None:
        """One sentence naming what is wrong with the store, or None when it is healthy: the SQLite file's
        identity, or (any other database) whether it answers ``SELECT 1``."""
        if self._path is not None:
            return self.file_fault()
        if self.url.startswith("sqlite"):
            return None
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except Exception as exc:  # any failure to answer is the fault readiness reports
            return f"the database does not answer ({type(exc).__name__})"
        return None

    def check_file(self) -> None:
        """Raise :class:`StoreFault` when the SQLite file is not the one opened."""
        problem = self.file_fault()
        if problem is not None:
            raise StoreFault(problem)

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One transaction: everything written inside commits together or not at all.

        Raises :class:`StoreFault` before starting when the SQLite file is not the one opened, and after the
        commit when it stopped being so meanwhile (the commit went to a file that is gone: not durable, so the
        caller must not acknowledge it).

        Write transactions are serialized: SQLite's starts with ``BEGIN IMMEDIATE`` (one writer at a time, so a rule
        checked against a row read inside holds at commit); on PostgreSQL read the rows a rule depends on with
        ``SELECT ... FOR UPDATE`` (``with_for_update()``, which SQLite ignores)."""
        self.check_file()
        with self.engine.begin() as conn:
            if conn.dialect.name == "sqlite":  # take the write lock now: reads inside see the latest committed rows
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            yield conn
        self.check_file()

    # --- revisions ----------------------------------------------------------------------------------------------

    def next_revision(self, conn: Connection) -> int:
        conn.execute(sa.update(REVISIONS).where(REVISIONS.c.name == "data").values(value=REVISIONS.c.value + 1))
        value = conn.execute(sa.select(REVISIONS.c.value).where(REVISIONS.c.name == "data")).scalar_one()
        return int(value)

    def instance(self) -> int | None:
        """A number drawn once when this store's schema was created (:meth:`create_schema`): a store recreated at
        the same path (its revisions counting from 0 again) has another, so nothing cached from the old one is taken
        for it. None for a store whose schema this code never created or upgraded."""
        with self.engine.connect() as conn:
            value = conn.execute(sa.select(REVISIONS.c.value).where(REVISIONS.c.name == INSTANCE)).scalar()
        return None if value is None else int(value)

    def current_revision(self) -> int:
        with self.engine.connect() as conn:
            value = conn.execute(sa.select(REVISIONS.c.value).where(REVISIONS.c.name == "data")).scalar()
        return int(value or 0)

    # --- writes -------------------------------------------------------------------------------------------------

    def upsert(self, conn: Connection, table: str, records: Sequence[Mapping[str, Any]], revision: int) -> int:
        """Insert or update ``records`` by key inside ``conn``'s transaction; identical rows are left alone.

        Returns the number of rows inserted or changed.
        """
        if not records:
            return 0
        sa_table = SA_TABLES[table]
        key = TABLES[table].key
        columns = [c for c in records[0] if c != REVISION_COLUMN]
        insert_fn = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        stmt = insert_fn(sa_table).values({c: sa.bindparam(c) for c in [*columns, REVISION_COLUMN]})
        changed = sa.or_(*[sa_table.c[c].is_distinct_from(stmt.excluded[c]) for c in columns if c != key])
        stmt = stmt.on_conflict_do_update(
            index_elements=[key],
            set_={**{c: stmt.excluded[c] for c in columns if c != key}, REVISION_COLUMN: revision},
            where=changed,
        )
        if conn.dialect.name == "sqlite":
            return self._sqlite_executemany(conn, stmt, sa_table, records, revision)
        # A batched statement's rowcount is -1 on psycopg: count the rows the statement returns instead (inserted or
        # changed; an identical row is skipped by the WHERE and returns nothing).
        returning = stmt.returning(sa_table.c[key])
        written = 0
        for start in range(0, len(records), _CHUNK):
            chunk = [{**r, REVISION_COLUMN: revision} for r in records[start : start + _CHUNK]]
            written += len(conn.execute(returning, chunk).all())
        return written

    @staticmethod
    def _sqlite_executemany(
        conn: Connection, stmt: Any, sa_table: sa.Table, records: Sequence[Mapping[str, Any]], revision: int
    ) -> int:
        """The same statement through sqlite3's executemany: SQLAlchemy's per-row overhead is most of an import.

        Values still go through each column type's own bind processor (JSON, datetimes), so the stored bytes are
        exactly what the SQLAlchemy path writes.
        """
        compiled = stmt.compile(dialect=conn.dialect)
        order = list(compiled.positiontup or [])
        literals = compiled.params
        processors = {}
        for name in order:
            column = sa_table.c.get(name)
            processors[name] = column.type.bind_processor(conn.dialect) if column is not None else None
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        written = 0
        try:
            for start in range(0, len(records), _CHUNK):
                rows = []
                for record in records[start : start + _CHUNK]:
                    row = []
                    for name in order:
                        if name == REVISION_COLUMN:
                            value = revision
                        elif name in record:
                            value = record[name]
                        else:  # a literal of the statement itself (the revision stamped on updates)
                            value = literals[name]
                        proc = processors[name]
                        row.append(proc(value) if proc is not None and value is not None else value)
                    rows.append(row)
                cursor.executemany(str(compiled), rows)
                written += max(cursor.rowcount, 0)
        finally:
            cursor.close()
        return written

    # --- reads --------------------------------------------------------------------------------------------------

    def existing_ids(self, conn: Connection, table: str, ids: Iterable[str]) -> set[str]:
        """Which of ``ids`` already exist in ``table``."""
        key_col = SA_TABLES[table].c[TABLES[table].key]
        wanted = list(dict.fromkeys(ids))
        found: set[str] = set()
        for start in range(0, len(wanted), 900):
            chunk = wanted[start : start + 900]
            found.update(conn.execute(sa.select(key_col).where(key_col.in_(chunk))).scalars())
        return found

    def count(self, table: str) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(SA_TABLES[table])).scalar_one())

    def read_table(
        self,
        table: str,
        conn: Connection | None = None,
        since_revision: int | None = None,
        extras: bool | tuple[str, ...] = True,
        started_since: datetime | None = None,
    ) -> pd.DataFrame:
        """A dataset table as a DataFrame with extra columns expanded (rows changed after ``since_revision`` only);
        ``extras=False`` reads the schema's columns only, a tuple of names only those extra columns.
        ``started_since``: only promotions started at or after it."""
        spec = TABLES[table]
        sa_table = SA_TABLES[table]
        columns = [c for c in sa_table.c if extras is not False or c.name != EXTRA_COLUMN]
        query = sa.select(*columns)
        if since_revision is not None:
            query = query.where(sa_table.c[REVISION_COLUMN] > since_revision)
        if started_since is not None:
            query = query.where(sa_table.c["started_at"] >= started_since)
        keep = extras if isinstance(extras, tuple) else None
        if conn is None:
            with self.engine.connect() as own:
                return self._frame(spec, own, query, keep)
        return self._frame(spec, conn, query, keep)

    def read_rows(self, table: str, column: str, values: Iterable[str], conn: Connection | None = None) -> pd.DataFrame:
        """The rows of ``table`` whose ``column`` is one of ``values`` (extra columns expanded)."""
        spec, sa_table = TABLES[table], SA_TABLES[table]
        wanted = list(dict.fromkeys(values))
        frames = []
        with contextlib.ExitStack() as stack:
            connection = conn if conn is not None else stack.enter_context(self.engine.connect())
            for start in range(0, len(wanted), 900):
                query = sa.select(*sa_table.c).where(sa_table.c[column].in_(wanted[start : start + 900]))
                frames.append(self._frame(spec, connection, query))
        frames = [f for f in frames if len(f)]
        if not frames:
            return records_to_frame(spec, [])
        return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)

    @staticmethod
    def _frame(
        spec: TableSpec, conn: Connection, query: sa.Select[Any], keep: tuple[str, ...] | None = None
    ) -> pd.DataFrame:
        # Chunks keep at most _READ_CHUNK row objects alive at a time: reading 2.3M rows at once left ~1.6 GiB of
        # heap the process never returned.
        result = conn.execute(query).mappings()
        frames = []
        while chunk := result.fetchmany(_READ_CHUNK):
            frames.append(records_to_frame(spec, [dict(r) for r in chunk], keep))
        if not frames:
            return records_to_frame(spec, [])
        return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)

    def load_marketplace(self) -> Marketplace:
        """Every dataset table and the sample requests (``Marketplace.sample_requests``), in one consistent snapshot."""
        with self.engine.connect() as conn, conn.begin():
            frames = {name: self.read_table(name, conn) for name in TABLES}
            samples = conn.execute(sa.select(*[SAMPLE_REQUESTS.c[c] for c in SAMPLE_REQUEST_COLUMNS])).mappings()
            frames["sample_requests"] = sample_requests_frame([dict(r) for r in samples])
        return Marketplace(**frames)


def records_to_frame(
    spec: TableSpec, records: list[dict[str, Any]], keep_extras: tuple[str, ...] | None = None
) -> pd.DataFrame:
    """Store records as a DataFrame: spec columns typed, ``extra`` expanded into columns (only ``keep_extras`` when
    given), bookkeeping dropped."""
    extras: list[dict[str, Any]] = []
    for r in records:
        r.pop(REVISION_COLUMN, None)
        extra = r.pop(EXTRA_COLUMN, None) if spec.keeps_extras else None
        if extra and keep_extras is not None:
            extra = {k: v for k, v in extra.items() if k in keep_extras}
        extras.append(extra or {})
    frame = pd.DataFrame.from_records(records, columns=spec.column_names)
    for c in spec.columns:
        if c.kind == "datetime":
            frame[c.name] = pd.to_datetime(frame[c.name])
        elif c.kind == "float":
            frame[c.name] = pd.to_numeric(frame[c.name]).astype("float64")
        elif c.kind == "int" and c.required:
            frame[c.name] = pd.to_numeric(frame[c.name]).astype("int64")
        elif c.kind == "bool":
            frame[c.name] = frame[c.name].astype(bool)
    if spec.keeps_extras and any(extras):
        extra_frame = pd.DataFrame.from_records(extras, index=frame.index)
        frame = pd.concat([frame, extra_frame], axis=1)
    return frame


def now_utc() -> datetime:
    """Naive UTC now (the store keeps naive UTC datetimes)."""
    return datetime.now(UTC).replace(tzinfo=None)
