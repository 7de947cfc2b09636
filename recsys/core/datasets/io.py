"""Reading and writing the files of a dataset directory (no validation here; see ``validate``).

Layout: one file per table of :data:`recsys.core.schema.TABLES`, named ``<table>.parquet`` or ``<table>.csv``. In
CSV, list columns (``categories``, ``creator_ids``, ``tiers``, embeddings) are JSON arrays and datetimes ISO
8601; in Parquet they are native lists and timestamps. An optional ``sample_requests`` file holds the sample
workflow's history (``recsys.core.datasets.samples``). Other files in the directory are ignored.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from recsys.core.schema import TABLES, Marketplace

FileFormat = Literal["parquet", "csv"]


def table_files(directory: Path) -> dict[str, Path]:
    """The table files present in ``directory`` by table name. Two files for one table is an error."""
    if not directory.is_dir():
        raise FileNotFoundError(f"dataset directory {directory} does not exist")
    found: dict[str, Path] = {}
    for name in TABLES:
        candidates = [p for p in (directory / f"{name}.parquet", directory / f"{name}.csv") if p.exists()]
        if len(candidates) > 1:
            raise ValueError(f"{directory} has both {name}.parquet and {name}.csv; keep one")
        if candidates:
            found[name] = candidates[0]
    return found


def read_table_file(path: Path) -> pd.DataFrame:
    """The raw rows of one table file. CSV cells stay strings (validation parses them); Parquet keeps types.

    Parquet files are read with pyarrow directly, CSV with pandas (every cell a string, only "" is missing).
    """
    if path.suffix == ".parquet":
        return pq.read_table(path).to_pandas()
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8")


def _plain(value: object) -> object:
    """Nested lists/arrays and numpy scalars as plain Python values (for JSON)."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _csv_cell(value: object) -> object:
    value = _plain(value)
    if isinstance(value, list):
        return json.dumps(value, ensure_ascii=False)
    return value


def _iso_format(stamps: pd.Series) -> str:
    """Seconds, or microseconds when any timestamp of the column has them (so nothing is lost)."""
    has_micro = bool((stamps.dropna().dt.microsecond != 0).any())
    return "%Y-%m-%dT%H:%M:%S.%f" if has_micro else "%Y-%m-%dT%H:%M:%S"


def _to_csv_frame(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object:
            out[col] = out[col].map(_csv_cell)
        elif pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].dt.strftime(_iso_format(out[col]))
    return out


def write_table(frame: pd.DataFrame, directory: Path, name: str, fmt: FileFormat = "parquet") -> Path:
    """Write one table; the output is byte-identical for identical frames."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.{fmt}"
    if fmt == "parquet":
        table = pa.Table.from_pandas(frame.reset_index(drop=True), preserve_index=False)
        pq.write_table(table, path, compression="zstd")
    else:
        _to_csv_frame(frame).to_csv(path, index=False, encoding="utf-8", lineterminator="\n")
    return path


def write_dataset(market: Marketplace, directory: Path, fmt: FileFormat = "parquet") -> dict[str, Path]:
    """Write every table of ``market`` into ``directory`` (created if needed), and its sample requests as the
    optional ``sample_requests`` file when it has any (``recsys.core.datasets.samples``)."""
    written = {name: write_table(market.table(name), directory, name, fmt) for name in TABLES}
    if len(market.sample_requests):
        written["sample_requests"] = write_table(market.sample_requests, directory, "sample_requests", fmt)
    return written
