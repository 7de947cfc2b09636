"""Schema migrations (recsys/core/migrate.py) on both store back-ends: a new store matches the schema the code
declares, an older store is upgraded in place with its rows kept, and stores opened concurrently do not race."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from recsys.core import migrate
from recsys.core.database import make_engine
from recsys.core.schema import METADATA, SA_TABLES
from recsys.core.store import Store

pytestmark = pytest.mark.backends("sqlite", "postgresql")


@pytest.fixture
def url(tmp_path: Path, backend: str) -> Iterator[str]:
    from tests import backends

    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    url = backends.create_database()
    yield url
    backends.drop_database(url)


def test_a_new_store_has_exactly_the_declared_schema(url: str) -> None:
    store = Store(url)
    store.create_schema()
    with store.engine.connect() as conn:
        assert migrate.current(conn) == migrate.head()
        differences = compare_metadata(MigrationContext.configure(conn), METADATA)
    store.dispose()
    assert differences == [], f"a table or column without a migration: {differences}"


def test_an_older_store_is_upgraded_in_place_and_keeps_its_rows(url: str) -> None:
    engine = make_engine(url)
    older = [t for t in METADATA.sorted_tables if t.name not in ("collaborations", "sample_requests")]
    METADATA.create_all(engine, tables=older)  # a store created before migrations, without the newest tables
    merchant = {"merchant_id": "m1", "name": "shop", "experience_score": 4.5, "revision": 1}
    merchant.update({c.name: None for c in SA_TABLES["merchants"].c if c.name not in merchant and c.nullable})
    with engine.begin() as conn:
        conn.execute(sa.insert(SA_TABLES["merchants"]), [_complete(merchant)])
    engine.dispose()

    store = Store(url)
    store.create_schema()
    with store.engine.connect() as conn:
        assert migrate.current(conn) == migrate.head()
        tables = set(sa.inspect(conn).get_table_names())
        kept = conn.execute(sa.select(SA_TABLES["merchants"].c.name)).scalars().all()
    store.dispose()
    assert {"collaborations", "sample_requests"} <= tables
    assert kept == ["shop"]


def test_stores_opened_at_once_migrate_once(url: str) -> None:
    def open_store(_: int) -> str | None:
        store = Store(url)
        try:
            store.create_schema()
            with store.engine.connect() as conn:
                return migrate.current(conn)
        finally:
            store.dispose()

    with ThreadPoolExecutor(4) as pool:
        revisions = list(pool.map(open_store, range(4)))
    assert revisions == [migrate.head()] * 4


def _complete(row: dict[str, object]) -> dict[str, object]:
    """A merchants row with a value for every required column."""
    out = dict(row)
    for column in SA_TABLES["merchants"].c:
        if column.name in out:
            continue
        python_type = column.type.python_type
        out[column.name] = {bool: True, int: 0, float: 0.0, str: "x", datetime: datetime(2026, 1, 1)}.get(python_type)
    return out


def test_the_head_read_from_the_scripts_is_alembics() -> None:
    assert migrate.scripted_head() == migrate.head()


@pytest.mark.backends("sqlite")
def test_a_store_at_the_head_opens_without_alembic(url: str) -> None:
    """A worker's start opens a store already at the head: told from the alembic_version row, not by Alembic; a store
    one revision behind is still upgraded (by Alembic)."""
    import subprocess
    import sys

    store = Store(url)
    store.create_schema()
    store.dispose()
    probe = (
        "import sys; from recsys.core.store import Store; s = Store(sys.argv[1]); s.create_schema(); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic'))"
    )
    done = subprocess.run([sys.executable, "-c", probe, url], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"

    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0002'"))
    engine.dispose()
    done = subprocess.run([sys.executable, "-c", probe, url], capture_output=True, text=True, check=True)
    assert "alembic" in done.stdout
    with make_engine(url).connect() as conn:
        assert migrate.current(conn) == migrate.head()
