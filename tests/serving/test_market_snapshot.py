"""The serving market from a columnar snapshot plus the rows written since equals a full read of the store."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

pytestmark = pytest.mark.backends("sqlite", "postgresql")

SINCE = datetime(2000, 1, 1)  # every promotion: the fixture's are older than any recent window


def _store(env):  # type: ignore[no-untyped-def]
    from recsys.core.store import Store

    return Store.from_settings(env.settings)


def _raw(store, table: str, n: int = 1, offset: int = 0) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """``n`` stored rows as written (JSON columns as they are), bookkeeping left out."""
    from recsys.core.schema import REVISION_COLUMN, SA_TABLES, TABLES

    t = SA_TABLES[table]
    query = sa.select(t).order_by(t.c[TABLES[table].key]).offset(offset).limit(n)
    with store.engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]
    for r in rows:
        r.pop(REVISION_COLUMN, None)
    return rows


def _write(store, table: str, records: list[dict[str, Any]]) -> None:  # type: ignore[no-untyped-def]
    with store.transaction() as conn:
        revision = store.next_revision(conn)
        assert store.upsert(conn, table, records, revision) == len(records)


def _changes(store) -> int:  # type: ignore[no-untyped-def]
    """A plan edit, a new product with a sample stock, an edited creator with a weekly capacity, an edited
    merchant, a new promotion: every kind of row a worker reads. Returns how many rows were written."""
    plan = _raw(store, "plans")[0]
    plan["commission_rate"] = round(plan["commission_rate"] + 0.05, 4)
    _write(store, "plans", [plan])
    product = _raw(store, "products", offset=3)[0]
    product["product_id"] = "p-snapshot-new"
    product["extra"] = {**(product.get("extra") or {}), "sample_stock": 7, "sample_cost": "12.5"}
    _write(store, "products", [product])
    new_plan = {**_raw(store, "plans", offset=5)[0], "plan_id": "pl-snapshot-new", "product_id": "p-snapshot-new"}
    _write(store, "plans", [new_plan])
    creator = _raw(store, "creators", offset=2)[0]
    creator["extra"] = {**(creator.get("extra") or {}), "weekly_capacity": 2}
    creator["followers"] += 1
    _write(store, "creators", [creator])
    merchant = _raw(store, "merchants")[0]
    merchant["violations_90d"] += 1
    _write(store, "merchants", [merchant])
    promotion = {**_raw(store, "promotions")[0], "promotion_id": "pr-snapshot-new", "started_at": datetime.now()}
    _write(store, "promotions", [promotion])
    return 6


def _assert_same(a, b) -> None:  # type: ignore[no-untyped-def]
    from recsys.core.schema import TABLES

    for name in ("merchants", "products", "creators", "plans", "promotions"):
        key = "promotion_id" if name == "promotions" else TABLES[name].key
        x = getattr(a, name).sort_values(key).reset_index(drop=True)
        y = getattr(b, name).sort_values(key).reset_index(drop=True)
        pd.testing.assert_frame_equal(x[sorted(x.columns)], y[sorted(y.columns)], check_dtype=False, obj=name)


def test_a_snapshot_plus_the_rows_written_since_is_the_full_read(env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from serving.market_snapshot import MarketSnapshots, read_store_market

    store = _store(env)
    snapshots = MarketSnapshots(tmp_path / "market", store)
    first = snapshots.read(SINCE)
    assert first.source == "store" and first.written is not None  # none yet: read in full, and written
    _assert_same(first.market, read_store_market(store, SINCE))

    written = _changes(store)
    again = snapshots.read(SINCE)
    assert (again.source, again.delta_rows, again.written) == ("snapshot", written, None)  # 6 rows < 5% of them
    full = read_store_market(store, SINCE)
    _assert_same(again.market, full)
    assert "p-snapshot-new" in set(again.market.products["product_id"])
    creators = again.market.creators.set_index("creator_id")
    assert creators["weekly_capacity"].notna().sum() == full.creators["weekly_capacity"].notna().sum() >= 1

    recent = datetime.now() - timedelta(days=1)  # a later window: the same snapshot, only the new promotion
    later = snapshots.read(recent)
    assert later.source == "snapshot" and later.market.promotions["promotion_id"].tolist() == ["pr-snapshot-new"]
    _assert_same(later.market, read_store_market(store, recent))


def test_a_snapshot_of_another_store_or_a_later_revision_or_a_changed_store_is_not_used(env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from recsys.core.schema import SA_TABLES
    from serving.market_snapshot import MarketSnapshots, read_store_market

    store = _store(env)
    snapshots = MarketSnapshots(tmp_path / "market", store)
    made = snapshots.read(SINCE).written
    assert made is not None
    revision, instance = store.current_revision(), store.instance()
    assert snapshots.newest(instance, revision, SINCE) is not None
    assert snapshots.newest(instance + 1, revision, SINCE) is None  # another store (recreated at the same path)
    assert snapshots.newest(instance, revision - 1, SINCE) is None  # the store is behind the snapshot
    assert snapshots.newest(instance, revision, SINCE - timedelta(days=1)) is None  # promotions not reaching back

    plans, gone = SA_TABLES["plans"], _raw(store, "plans")[0]["plan_id"]
    with store.transaction() as conn:  # a row gone behind the store's back: counts differ, read in full
        conn.execute(sa.delete(plans).where(plans.c.plan_id == gone))
    read = snapshots.read(SINCE)
    assert read.source == "store"
    _assert_same(read.market, read_store_market(store, SINCE))


def test_many_rows_since_write_a_new_snapshot_and_two_are_kept(env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from serving.market_snapshot import MarketSnapshots

    store = _store(env)
    snapshots = MarketSnapshots(tmp_path / "market", store, rewrite_share=0.0)
    paths = [snapshots.read(SINCE).written]
    for offset in range(3):
        plan = _raw(store, "plans", offset=10 + offset)[0]
        plan["commission_rate"] = round(plan["commission_rate"] + 0.01, 4)
        _write(store, "plans", [plan])
        read = snapshots.read(SINCE)
        assert read.source == "snapshot" and read.delta_rows == 1 and read.written is not None
        paths.append(read.written)
    left = sorted(p.name for p in (tmp_path / "market").iterdir())
    assert left == sorted(p.name for p in paths[-2:])  # type: ignore[union-attr]


def test_the_matcher_from_a_snapshot_ranks_as_the_one_from_the_store(env) -> None:  # type: ignore[no-untyped-def]
    from serving.state import open_matcher_state

    store = _store(env)
    off = env.settings.model_copy(
        update={"serving": env.settings.serving.model_copy(update={"market_snapshot": False})}
    )
    on = env.settings
    open_matcher_state(on, store)  # writes the snapshot, or uses the one there
    from_snapshot = open_matcher_state(on, store).matcher
    from_store = open_matcher_state(off, store).matcher
    creators = [env.world.creator, env.world.other_creator, env.world.listed_creator]
    for creator in creators:
        a = [(r.product_id, round(r.score, 9)) for r in from_snapshot.recommend_products(creator, 20)]
        b = [(r.product_id, round(r.score, 9)) for r in from_store.recommend_products(creator, 20)]
        assert a == b and a
    for product in (env.world.product, env.world.listed_product):
        a = [(r.creator_id, round(r.score, 9)) for r in from_snapshot.recommend_creators(product, 20)]
        b = [(r.creator_id, round(r.score, 9)) for r in from_store.recommend_creators(product, 20)]
        assert a == b and a


def test_a_store_without_an_instance_number_is_read_in_full_and_nothing_is_written(env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from recsys.core.schema import REVISIONS
    from recsys.core.store import INSTANCE
    from serving.market_snapshot import MarketSnapshots

    store = _store(env)
    with store.transaction() as conn:  # as a store this code never created or upgraded
        conn.execute(sa.delete(REVISIONS).where(REVISIONS.c.name == INSTANCE))
    read = MarketSnapshots(tmp_path / "market", store).read(SINCE)
    assert (read.source, read.written) == ("store", None) and not (tmp_path / "market").exists()
    store.create_schema()  # opening it as the service does draws one
    assert store.instance() is not None


def test_a_damaged_snapshot_is_never_served_the_store_is_read_in_full(env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from serving.market_snapshot import MarketSnapshots, read_store_market

    store = _store(env)
    snapshots = MarketSnapshots(tmp_path / "market", store)
    made = snapshots.read(SINCE).written
    assert made is not None
    (made / "plans.arrow").write_bytes(b"not arrow")  # truncated or overwritten by hand
    read = snapshots.read(SINCE)
    assert read.source == "store" and read.written is not None  # the damaged copy replaced by a sound one
    _assert_same(read.market, read_store_market(store, SINCE))
    assert snapshots.read(SINCE).source == "snapshot"


def test_the_plans_read_are_named_by_their_content(env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Equal keys for equal plans (a full read that wrote the snapshot, the snapshot with nothing since), another key
    once a plan was written since, none for a full read that did not write the snapshot (models/matching/rulebook.py
    keeps parsed plans under it)."""
    from recsys.core.content_keys import content_key
    from serving.market_snapshot import MarketSnapshots, read_store_market

    store = _store(env)
    snapshots = MarketSnapshots(tmp_path / "market", store)
    first = snapshots.read(SINCE)
    assert first.written is not None and content_key(first.market.plans) == f"{first.written.name}:"
    same = snapshots.read(SINCE)
    assert same.source == "snapshot" and content_key(same.market.plans) == content_key(first.market.plans)
    _changes(store)
    edited = snapshots.read(SINCE)
    key = content_key(edited.market.plans)
    assert key is not None and key.startswith(f"{first.written.name}:") and key != content_key(first.market.plans)
    assert content_key(snapshots.read(SINCE).market.plans) == key
    assert content_key(read_store_market(store, SINCE).plans) is None
