"""The workflow tables: created on open, in an older store too, without touching its data."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from recsys.core.schema import COLLABORATIONS, INVITES, METADATA, SA_TABLES, SAMPLE_REQUESTS
from recsys.core.store import Store

NEW = {INVITES.name, SAMPLE_REQUESTS.name, COLLABORATIONS.name}


def test_opening_an_older_store_adds_the_workflow_tables_and_keeps_its_data(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = sa.create_engine(url)
    old_tables = [t for t in METADATA.sorted_tables if t.name not in NEW]
    METADATA.create_all(engine, tables=old_tables)  # the store as it was before the workflows existed
    merchants = SA_TABLES["merchants"]
    row = {
        "merchant_id": "m1",
        "name": "shop",
        "joined_at": sa.func.current_timestamp(),
        "experience_score": 90.0,
        "good_review_rate": 0.95,
        "violations_90d": 0,
        "alliance_closures": 0,
        "region": "east",
        "revision": 1,
    }
    with engine.begin() as conn:
        conn.execute(sa.insert(merchants).values(**row))
    engine.dispose()
    assert not NEW & set(sa.inspect(sa.create_engine(url)).get_table_names())

    store = Store(url)
    store.create_schema()
    store.create_schema()  # idempotent
    assert set(sa.inspect(store.engine).get_table_names()) >= NEW
    assert store.count("merchants") == 1
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(merchants.c.name)).scalar_one() == "shop"
        assert conn.execute(sa.select(sa.func.count()).select_from(INVITES)).scalar_one() == 0
    store.dispose()
