"""import_dataset / read_dataset / export_dataset against a real store: an SQLite file under tmp_path and, with a
server (tests/backends.py), a PostgreSQL database."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy.engine import Connection

from recsys.core.config import Settings
from recsys.core.datasets.importer import StoreLookup, export_dataset, import_dataset, read_dataset
from recsys.core.datasets.io import FileFormat, read_table_file
from recsys.core.datasets.validate import DatasetError, validate_rows, validate_tables
from recsys.core.schema import TABLES
from recsys.core.store import Store
from tests.core.datasets.sample import with_row, with_rows, write

pytestmark = pytest.mark.backends("sqlite", "postgresql")


def _sizes(tables: Mapping[str, pd.DataFrame]) -> dict[str, int]:
    return {name: len(frame) for name, frame in tables.items()}


def _snapshot(store: Store) -> dict[str, pd.DataFrame]:
    market = store.load_marketplace()
    return {name: market.table(name).sort_values(TABLES[name].key, ignore_index=True) for name in TABLES}


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_import_twice_changes_nothing_the_second_time(
    sample: dict[str, pd.DataFrame], store: Store, settings: Settings, tmp_path: Path, fmt: FileFormat
) -> None:
    directory = write(sample, tmp_path / "in", fmt)
    first = import_dataset(store, directory, settings, progress=False)
    assert {n: t.inserted for n, t in first.tables.items()} == _sizes(sample)
    assert first.revision == 1 and first.quarantined == 0
    second = import_dataset(store, directory, settings, progress=False)
    assert {n: (t.inserted, t.updated, t.unchanged) for n, t in second.tables.items()} == {
        n: (0, 0, size) for n, size in _sizes(sample).items()
    }
    assert second.revision is None and store.current_revision() == 1


def test_csv_and_parquet_of_the_same_data_are_the_same_rows(
    sample: dict[str, pd.DataFrame], store: Store, settings: Settings, tmp_path: Path
) -> None:
    import_dataset(store, write(sample, tmp_path / "csv", "csv"), settings, progress=False)
    again = import_dataset(store, write(sample, tmp_path / "pq", "parquet"), settings, progress=False)
    assert again.changed == 0


def test_changed_rows_are_updated_and_good_frames_match_the_store(
    sample: dict[str, pd.DataFrame], store: Store, settings: Settings, tmp_path: Path
) -> None:
    import_dataset(store, write(sample, tmp_path / "a", "parquet"), settings, progress=False)
    changed = dict(sample)
    changed["merchants"] = sample["merchants"].assign(name=["Shop 1", "Renamed", "Shop 3"])
    report = import_dataset(store, write(changed, tmp_path / "b", "parquet"), settings, progress=False)
    assert (report.tables["merchants"].updated, report.tables["merchants"].unchanged) == (1, 2)
    assert report.changed == 1
    raw = {name: read_table_file(tmp_path / "b" / f"{name}.parquet") for name in TABLES}
    good = validate_tables(raw, settings, lambda _t, _ids: set()).good
    stored = _snapshot(store)
    for name in TABLES:
        expected = good[name].sort_values(TABLES[name].key, ignore_index=True)
        pd.testing.assert_frame_equal(expected, stored[name], check_like=False)


class CrashingStore(Store):
    """Fails while writing the third table of an import."""

    def upsert(self, conn: Connection, table: str, records: Sequence[Mapping[str, Any]], revision: int) -> int:
        self.tables_written = [*getattr(self, "tables_written", []), table]
        if len(set(self.tables_written)) == 3:
            raise RuntimeError("disk on fire")
        return super().upsert(conn, table, records, revision)


def test_a_crash_mid_import_leaves_the_store_as_it_was(
    sample: dict[str, pd.DataFrame], store: Store, settings: Settings, tmp_path: Path
) -> None:
    import_dataset(store, write(sample, tmp_path / "a", "csv"), settings, progress=False)
    before, revision = _snapshot(store), store.current_revision()
    changed = with_row(sample, "orders", order_id="o_new")
    changed["merchants"] = sample["merchants"].assign(region="west")
    crashing = CrashingStore(settings.resolved_database_url)
    with pytest.raises(RuntimeError, match="disk on fire"):
        import_dataset(crashing, write(changed, tmp_path / "b", "csv"), settings, progress=False)
    assert len(set(crashing.tables_written)) == 3  # merchants and products were written before the crash
    crashing.dispose()
    after = _snapshot(store)
    for name in TABLES:
        pd.testing.assert_frame_equal(before[name], after[name])
    assert store.current_revision() == revision


def test_references_resolve_to_rows_already_in_the_store(
    sample: dict[str, pd.DataFrame], store: Store, settings: Settings, tmp_path: Path
) -> None:
    entities = {n: sample[n] for n in ("merchants", "products", "creators", "plans")}
    import_dataset(store, write(entities, tmp_path / "a", "csv"), settings, progress=False)
    events, rows = with_rows(
        {n: sample[n] for n in ("promotions", "orders")},
        [("promotions", {"plan_id": "pl3"}), ("promotions", {"creator_id": "c404"})],
    )
    report = import_dataset(store, write(events, tmp_path / "b", "csv"), settings, progress=False)
    assert report.tables["promotions"].inserted == len(sample["promotions"])
    assert report.tables["orders"].inserted == len(sample["orders"])
    bad = pd.read_csv(report.quarantine_files["promotions"], dtype=str)
    assert list(bad["source_row"]) == [str(r) for r in rows]
    assert list(bad["reason"]) == [
        "plan_id: plan 'pl3' is for product 'p3', not 'p2'",  # the plan only exists in the store
        "creator_id: references unknown creator 'c404'",
    ]


def test_a_row_quarantined_in_this_import_is_a_bad_reference_even_if_stored(
    sample: dict[str, pd.DataFrame], store: Store, settings: Settings, tmp_path: Path
) -> None:
    import_dataset(store, write(sample, tmp_path / "a", "csv"), settings, progress=False)
    tables = {"merchants": sample["merchants"], "products": sample["products"]}
    tables["merchants"] = tables["merchants"].assign(violations_90d=[0, -1, 0])  # m2 is now bad
    report = import_dataset(store, write(tables, tmp_path / "b", "csv"), settings, progress=False)
    products = pd.read_csv(report.quarantine_files["products"], dtype=str)
    assert set(products["merchant_id"]) == {"m2"}
    assert set(products["reason"]) == {"merchant_id: references merchant 'm2', which is quarantined in this import"}


def test_quarantine_files_hold_the_original_text_and_are_rewritten(
    sample: dict[str, pd.DataFrame], store: Store, settings: Settings, tmp_path: Path
) -> None:
    bad = with_row(sample, "promotions", views="-05", gmv="1.50")
    report = import_dataset(store, write(bad, tmp_path / "bad", "csv"), settings, progress=False)
    path = settings.quarantine_dir / "promotions.csv"
    assert report.quarantine_files == {"promotions": path}
    rows = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert list(rows.columns) == [*sample["promotions"].columns, "source_row", "reason"]
    assert rows.loc[0, ["views", "gmv", "source_row"]].tolist() == ["-05", "1.50", "7"]
    assert rows.loc[0, "reason"] == "views: -5 is below minimum 0"
    (settings.quarantine_dir / "merchants_old.csv").write_text("kept: not a table of this import\n")
    again = import_dataset(store, write(sample, tmp_path / "good", "csv"), settings, progress=False)
    assert again.quarantine_files == {} and not path.exists()
    assert (settings.quarantine_dir / "merchants_old.csv").exists()


def test_parquet_values_are_type_checked(sample: dict[str, pd.DataFrame], settings: Settings, tmp_path: Path) -> None:
    tables = dict(sample)
    tables["creators"] = sample["creators"].assign(followers=[1000.0, 2.5, 27000.0, 64000.0, 125000.0])
    tables["merchants"] = sample["merchants"].assign(region=[1, 2, 3])  # int64 where text belongs
    directory = write(tables, tmp_path / "pq", "parquet")
    _, result = read_dataset(directory, settings)
    assert result.quarantined["creators"]["reason"].tolist() == ["followers: 2.5 is not an integer"]
    assert result.quarantined["merchants"]["reason"].tolist() == [f"region: {i} is not text" for i in (1, 2, 3)]


def test_fatal_problems_raise_and_leave_the_store_untouched(
    sample: dict[str, pd.DataFrame], store: Store, settings: Settings, tmp_path: Path
) -> None:
    directory = write({"creators": sample["creators"].drop(columns=["followers"])}, tmp_path / "a", "csv")
    with pytest.raises(DatasetError, match=r"creators\.csv: missing required column\(s\) followers"):
        import_dataset(store, directory, settings, progress=False)
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "orders.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(DatasetError, match=r"cannot read .*orders\.parquet"):
        import_dataset(store, tmp_path / "b", settings, progress=False)
    with pytest.raises(DatasetError, match="does not exist"):
        import_dataset(store, tmp_path / "nowhere", settings, progress=False)
    assert store.current_revision() == 0
    assert all(store.count(name) == 0 for name in TABLES)


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_export_import_export_round_trip(
    sample: dict[str, pd.DataFrame], store: Store, settings: Settings, tmp_path: Path, fmt: FileFormat
) -> None:
    import_dataset(store, write(sample, tmp_path / "in", "csv"), settings, progress=False)
    first = export_dataset(store, tmp_path / "one", fmt)
    assert sorted(first) == sorted(TABLES)
    fresh = Store(f"sqlite:///{tmp_path / 'fresh.db'}")
    fresh.create_schema()
    report = import_dataset(fresh, tmp_path / "one", settings, progress=False)
    assert report.quarantined == 0 and report.warnings == []
    second = export_dataset(fresh, tmp_path / "two", fmt)
    for name in TABLES:
        pd.testing.assert_frame_equal(read_table_file(first[name]), read_table_file(second[name]))
        assert first[name].read_bytes() == second[name].read_bytes()
    fresh.dispose()
    assert import_dataset(store, tmp_path / "one", settings, progress=False).changed == 0
    other = "csv" if fmt == "parquet" else "parquet"
    with pytest.raises(DatasetError, match="already holds"):
        export_dataset(store, tmp_path / "one", other)  # type: ignore[arg-type]


def test_read_dataset_needs_references_inside_the_directory(
    sample: dict[str, pd.DataFrame], settings: Settings, tmp_path: Path
) -> None:
    market, result = read_dataset(write(sample, tmp_path / "all", "parquet"), settings)
    assert market.sizes() == _sizes(sample) and result.n_quarantined == 0
    assert market.orders["created_at"].dtype == "datetime64[us]"
    assert market.plans["tiers"].iloc[3] == [[0, 0.1], [100, 0.15], [500, 0.2]]
    market, result = read_dataset(write({"promotions": sample["promotions"]}, tmp_path / "few", "csv"), settings)
    assert market.sizes()["promotions"] == 0 and market.sizes()["merchants"] == 0
    assert result.quarantined["promotions"]["reason"].str.contains("references unknown creator").all()


def test_validate_rows_checks_an_event_batch_against_the_store(
    sample: dict[str, pd.DataFrame], store: Store, settings: Settings, tmp_path: Path
) -> None:
    import_dataset(store, write(sample, tmp_path / "a", "parquet"), settings, progress=False)
    batch = pd.DataFrame(
        [  # as a JSON body arrives: numbers native, datetimes as ISO strings
            {
                **sample["promotions"].iloc[0].to_dict(),
                "promotion_id": "pr100",
                "started_at": "2024-05-01T10:00:00Z",
            },
            {**sample["promotions"].iloc[0].to_dict(), "promotion_id": "pr101", "plan_id": "pl4"},
        ]
    )
    with store.transaction() as conn:
        lookup = StoreLookup(store, conn)
        result = validate_rows("promotions", batch, settings, lookup, plan_products=lookup.plan_products)
    assert result.good["promotions"]["promotion_id"].tolist() == ["pr100"]
    assert result.good["promotions"]["started_at"].iloc[0] == pd.Timestamp("2024-05-01 10:00:00")
    assert result.quarantined["promotions"]["reason"].tolist() == ["plan_id: plan 'pl4' is for product 'p4', not 'p2'"]


def test_reading_a_table_in_chunks_gives_the_same_frame(
    sample: dict[str, pd.DataFrame], store: Store, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import recsys.core.store

    import_dataset(store, write(sample, tmp_path / "a", "parquet"), settings, progress=False)
    whole = {name: store.read_table(name) for name in TABLES}
    monkeypatch.setattr(recsys.core.store, "_READ_CHUNK", 3)
    assert max(len(frame) for frame in whole.values()) > 3  # some table really is read in several chunks
    for name in TABLES:
        pd.testing.assert_frame_equal(store.read_table(name), whole[name], check_dtype=True)
