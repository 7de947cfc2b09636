"""The issue's done-when scenario through the CLI: bad rows injected, exit codes, re-import, export."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from recsys.app.cli import app
from recsys.core.config import Settings
from recsys.core.datasets.io import FileFormat
from recsys.core.schema import TABLES
from recsys.core.store import Store
from tests.core.datasets.sample import marketplace, with_rows, write

# The kinds of bad rows the issue names; values are native so the same rows can be written as Parquet.
BAD_ROWS: list[tuple[str, dict[str, object], str]] = [
    ("creators", {"creator_id": ""}, "creator_id: required value is missing or empty"),  # missing id
    ("orders", {"order_id": "o1", "amount": 99.0}, "order_id: 'o1' is also used by row(s) 1"),  # duplicate id
    ("creators", {"aud_female": 0.9}, "aud_female+aud_male: shares sum to 1.30"),  # shares above 1
    ("promotions", {"views": -5}, "views: -5 is below minimum 0"),  # negative count
    ("plans", {"plan_type": "premium"}, "plan_type: 'premium' is not one of"),  # unknown plan type
    ("promotions", {"creator_id": "c404"}, "creator_id: references unknown creator 'c404'"),  # dangling
    ("orders", {"promotion_id": "pr404"}, "promotion_id: references unknown promotion 'pr404'"),  # dangling
    ("creators", {"followers": 2.5}, "is not an integer"),  # wrong type (quoted when read from CSV text)
    ("merchants", {"name": ""}, "name: required value is missing or empty"),  # empty string
]


def _env(tmp_path: Path) -> dict[str, str]:
    data = tmp_path / "data"
    return {"RECSYS_DATABASE_URL": f"sqlite:///{data / 'recsys.db'}", "RECSYS_DATA_DIR": str(data)}


def _flat(output: str) -> str:
    """CLI output with rich's line wrapping undone."""
    return " ".join(output.split())


def _settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=_env(tmp_path)["RECSYS_DATABASE_URL"])


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_dirty_directory_imports_good_rows_quarantines_bad_ones_and_exits_2(tmp_path: Path, fmt: FileFormat) -> None:
    sample = marketplace()
    rows = BAD_ROWS + ([("promotions", {"likes": "many"}, "likes: 'many' is not an integer")] if fmt == "csv" else [])
    tables, source_rows = with_rows(sample, [(table, changes) for table, changes, _ in rows])
    if fmt == "parquet":  # keep each column's type so pyarrow can write it (wrong values stay wrong)
        tables = {name: frame.infer_objects() for name, frame in tables.items()}
    directory = write(tables, tmp_path / "dirty", fmt)
    runner = CliRunner()

    result = runner.invoke(app, ["import", str(directory)], env=_env(tmp_path))
    assert result.exit_code == 2, result.output
    assert "quarantined" in result.output

    store = Store(_env(tmp_path)["RECSYS_DATABASE_URL"])
    expected_good = {name: len(frame) for name, frame in sample.items()}
    expected_good["orders"] -= 1  # o1 conflicts with the injected duplicate: both rows are quarantined
    assert {name: store.count(name) for name in TABLES} == expected_good
    quarantine = _settings(tmp_path).quarantine_dir
    for (table, _, fragment), row in zip(rows, source_rows, strict=True):
        bad = pd.read_csv(quarantine / f"{table}.csv", dtype=str, keep_default_na=False).set_index("source_row")
        assert fragment in bad.loc[str(row), "reason"]
    total_bad = sum(len(pd.read_csv(p)) for p in quarantine.glob("*.csv"))
    assert total_bad == len(rows) + 1  # every injected row plus the original o1

    again = runner.invoke(app, ["import", str(directory)], env=_env(tmp_path))
    assert again.exit_code == 2 and "nothing changed" in _flat(again.output)
    allowed = runner.invoke(app, ["import", str(directory), "--allow-quarantine"], env=_env(tmp_path))
    assert allowed.exit_code == 0, allowed.output
    assert store.current_revision() == 1
    store.dispose()


def test_clean_import_exits_0_and_export_round_trips(tmp_path: Path) -> None:
    directory = write(marketplace(), tmp_path / "clean", "parquet")
    runner = CliRunner()
    first = runner.invoke(app, ["import", str(directory)], env=_env(tmp_path))
    assert first.exit_code == 0, first.output
    exported = runner.invoke(app, ["export", str(tmp_path / "out"), "--format", "csv"], env=_env(tmp_path))
    assert exported.exit_code == 0, exported.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(f"{t}.csv" for t in TABLES)
    back = runner.invoke(app, ["import", str(tmp_path / "out")], env=_env(tmp_path))
    assert back.exit_code == 0 and "nothing changed" in _flat(back.output)


def test_fatal_errors_exit_1_and_name_the_file_and_column(tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(app, ["import", str(tmp_path / "nowhere")], env=_env(tmp_path))
    assert missing.exit_code == 1 and "does not exist" in _flat(missing.output)
    directory = write({"plans": marketplace()["plans"].drop(columns=["plan_type"])}, tmp_path / "d", "csv")
    result = runner.invoke(app, ["import", str(directory)], env=_env(tmp_path))
    assert result.exit_code == 1
    assert "plans.csv:" in result.output.replace("\n", "")  # the path may be wrapped anywhere
    assert "missing required column(s) plan_type" in _flat(result.output)


def test_help_explains_import_and_export() -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["import", "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output and "--allow-quarantine" in result.output and "Exit codes" in result.output
    exported = runner.invoke(app, ["export", "--help"])
    assert exported.exit_code == 0 and "--format" in exported.output
