"""The store back-ends the tests run on: SQLite always, PostgreSQL when ``RECSYS_TEST_POSTGRES_URL`` names a server.

``.ci/run`` starts a throwaway server (``.ci/postgres.sh``) and sets ``RECSYS_TEST_REQUIRE_POSTGRES=1``, so there a
missing server fails the PostgreSQL-parametrized tests instead of skipping them. Each test (or test module) gets a
database of its own, created here and dropped afterwards; a database copied from a template is how the serving
tests clone their golden store in a fraction of a second.
"""

from __future__ import annotations

import os
import uuid

import pytest
import sqlalchemy as sa

POSTGRES_ENV = "RECSYS_TEST_POSTGRES_URL"
REQUIRE_ENV = "RECSYS_TEST_REQUIRE_POSTGRES"
BACKENDS = ("sqlite", "postgresql")


def server_url() -> str:
    """The PostgreSQL maintenance URL; skips the test (fails it under ``.ci/run``) when no server is configured."""
    url = os.environ.get(POSTGRES_ENV, "")
    if not url:
        message = f"no PostgreSQL server: set {POSTGRES_ENV} (.ci/run starts one)"
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(message)
        pytest.skip(message)
    return url


def _admin_engine() -> sa.Engine:
    from recsys.core.database import make_engine

    return make_engine(server_url()).execution_options(isolation_level="AUTOCOMMIT")


def _with_database(url: str, name: str) -> str:
    return str(sa.make_url(url).set(database=name).render_as_string(hide_password=False))


def create_database(template: str | None = None) -> str:
    """A new empty database (or a copy of ``template``, a database name); returns its URL."""
    name = f"recsys_test_{uuid.uuid4().hex[:12]}"
    engine = _admin_engine()
    try:
        with engine.connect() as conn:
            suffix = f" TEMPLATE {template}" if template else ""
            conn.exec_driver_sql(f"CREATE DATABASE {name}{suffix}")
    finally:
        engine.dispose()
    return _with_database(server_url(), name)


def drop_database(url: str) -> None:
    """Drop the database of ``url``, closing any connection still open to it."""
    name = sa.make_url(url).database
    engine = _admin_engine()
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        engine.dispose()


def database_name(url: str) -> str:
    return str(sa.make_url(url).database)


def copy_store(source_url: str, target_url: str) -> None:
    """Every table of the store at ``source_url`` copied into a fresh store at ``target_url`` (same schema)."""
    from recsys.core.schema import METADATA
    from recsys.core.store import Store

    source, target = Store(source_url), Store(target_url)
    try:
        target.create_schema()
        with source.engine.connect() as src, target.engine.begin() as dst:
            for table in METADATA.sorted_tables:
                dst.execute(sa.delete(table))
                rows = [dict(r) for r in src.execute(sa.select(table)).mappings()]
                for start in range(0, len(rows), 5_000):
                    dst.execute(sa.insert(table), rows[start : start + 5_000])
                serial = [c for c in table.primary_key.columns if c.autoincrement is True]
                if serial and rows and dst.dialect.name == "postgresql":  # explicit ids do not move the sequence
                    column = serial[0].name
                    dst.exec_driver_sql(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', '{column}'), "
                        f"(SELECT max({column}) FROM {table.name}))"
                    )
    finally:
        source.dispose()
        target.dispose()
