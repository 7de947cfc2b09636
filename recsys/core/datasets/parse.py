"""Parsing raw cells into typed columns, vectorised, with a reason for every cell that cannot be parsed.

Cells arrive either as text (CSV: every cell is a string; JSON event payloads: datetimes are strings) or as
native values (Parquet). Text is parsed — integers, floats, booleans (true/false/1/0/yes/no), ISO 8601
datetimes, JSON arrays for list columns — and native values are type-checked. An empty or blank cell is
*missing*, never invalid.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

import numpy as np
import pandas as pd

from recsys.core.datasets.problems import Problems, show
from recsys.core.schema import ColumnKind

ParseKind = ColumnKind | Literal["float_list"]
ExtraKind = Literal["float", "float_list", "text", "empty"]

BOOL_WORDS: dict[str, bool] = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}

_EXPECTED: dict[str, str] = {
    "str": "is not text",
    "int": "is not an integer",
    "float": "is not a finite number",
    "bool": "is not a boolean (true/false/1/0/yes/no)",
    "datetime": "is not an ISO 8601 datetime",
    "str_list": "is not a JSON array of strings",
    "tiers": "is not a list of [min_units, rate] pairs",
    "float_list": "is not a list of finite numbers",
}


@dataclass
class Parsed:
    """One parsed column: typed ``values`` (missing/NA where no valid value), and per-row masks."""

    values: pd.Series
    missing: np.ndarray  # no value given (null, empty or blank text)
    valid: np.ndarray  # a value was given and has the right type


def _is_textual(raw: pd.Series) -> bool:
    return raw.dtype == object or pd.api.types.is_string_dtype(raw.dtype)


def text_cells(raw: pd.Series) -> np.ndarray:
    """Mask of cells holding a Python string."""
    if not _is_textual(raw):
        return np.zeros(len(raw), dtype=bool)
    if raw.dtype != object:  # a string dtype: every non-null cell is a str
        return ~raw.isna().to_numpy()
    return np.fromiter((isinstance(v, str) for v in raw.to_numpy()), dtype=bool, count=len(raw))


def missing_cells(raw: pd.Series) -> np.ndarray:
    """Mask of cells with no value: null, NaN, NaT, or text that is empty or blank."""
    missing = raw.isna().to_numpy(dtype=bool, copy=True)
    text = text_cells(raw)
    if text.any():
        blank = raw[text].astype(str).str.strip().eq("").to_numpy(dtype=bool)
        missing[np.flatnonzero(text)[blank]] = True
    return missing


def _numbers(raw: pd.Series, missing: np.ndarray) -> np.ndarray:
    """Float values of the cells (NaN where missing or not a number); booleans are not numbers."""
    n = len(raw)
    if pd.api.types.is_bool_dtype(raw.dtype):
        return np.full(n, np.nan)
    if pd.api.types.is_numeric_dtype(raw.dtype):
        return pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    out = np.full(n, np.nan)
    text = text_cells(raw) & ~missing
    if text.any():
        parsed = pd.to_numeric(raw[text].astype(str).str.strip(), errors="coerce")
        out[text] = parsed.to_numpy(dtype=float, na_value=np.nan)
    native = ~text & ~missing
    if native.any():
        cells = raw.to_numpy()
        for pos in np.flatnonzero(native):
            v = cells[pos]
            if isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool | np.bool_):
                out[pos] = float(v)
    return out


def _bools(raw: pd.Series, missing: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = len(raw)
    values = np.zeros(n, dtype=bool)
    valid = np.zeros(n, dtype=bool)
    if pd.api.types.is_bool_dtype(raw.dtype):
        present = ~missing
        values[present] = raw[present].astype(bool).to_numpy()
        return values, present
    text = text_cells(raw) & ~missing
    if text.any():
        mapped = raw[text].astype(str).str.strip().str.lower().map(BOOL_WORDS)
        ok = mapped.notna().to_numpy()
        where = np.flatnonzero(text)[ok]
        valid[where] = True
        values[where] = mapped[ok].astype(bool).to_numpy()
    native = ~text & ~missing
    cells = raw.to_numpy(dtype=object)
    for pos in np.flatnonzero(native).tolist():
        v = cells[pos]
        if isinstance(v, bool | np.bool_) or (isinstance(v, int | float | np.integer | np.floating) and v in (0, 1)):
            values[pos], valid[pos] = bool(v), True
    return values, valid


def _datetimes(raw: pd.Series, missing: np.ndarray) -> pd.Series:
    """Naive UTC ``datetime64[us]`` (NaT where missing or unparseable)."""
    if pd.api.types.is_datetime64_any_dtype(raw.dtype):
        stamps = raw
        if getattr(stamps.dt, "tz", None) is not None:
            stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
        return stamps.astype("datetime64[us]").reset_index(drop=True)
    out = pd.Series(pd.NaT, index=range(len(raw)), dtype="datetime64[us]")
    if not _is_textual(raw):
        return out  # numbers are not datetimes
    text = text_cells(raw) & ~missing
    if text.any():
        parsed = pd.to_datetime(
            raw[text].astype(str).str.strip(), format="ISO8601", utc=True, errors="coerce"
        ).dt.tz_localize(None)
        out.iloc[np.flatnonzero(text)] = parsed.astype("datetime64[us]").to_numpy()
    native = ~text & ~missing
    cells = raw.to_numpy(dtype=object)
    for pos in np.flatnonzero(native).tolist():
        v = cells[pos]
        if isinstance(v, pd.Timestamp | datetime | date | np.datetime64):
            stamp = pd.Timestamp(v)
            if stamp.tzinfo is not None:
                stamp = stamp.tz_convert("UTC").tz_localize(None)
            out.iat[pos] = stamp
    return out


def _finite_number(v: object) -> bool:
    return (
        isinstance(v, int | float | np.integer | np.floating)
        and not isinstance(v, bool | np.bool_)
        and math.isfinite(float(v))
    )


def _as_list(v: object) -> list[object] | None:
    if isinstance(v, str):
        try:
            v = json.loads(v)
        except ValueError:
            return None
    if isinstance(v, np.ndarray):
        v = v.tolist()
    if isinstance(v, list | tuple):
        return [x.tolist() if isinstance(x, np.ndarray) else x for x in v]
    return None


def list_cell(kind: ParseKind, v: object) -> list[object] | None:
    """One list cell (JSON text or a native list/array) parsed for ``kind``; ``None`` when it does not fit."""
    items = _as_list(v)
    if items is None:
        return None
    if kind == "str_list":
        return items if all(isinstance(x, str) for x in items) else None
    if kind == "float_list":
        return [float(x) for x in items] if all(_finite_number(x) for x in items) else None  # type: ignore[arg-type]
    tiers: list[object] = []
    for tier in items:
        if not (isinstance(tier, list | tuple) and len(tier) == 2 and all(_finite_number(x) for x in tier)):
            return None
        min_units, rate = float(tier[0]), float(tier[1])
        tiers.append([int(min_units) if min_units.is_integer() else min_units, rate])
    return tiers


def _lists(kind: ParseKind, raw: pd.Series, missing: np.ndarray) -> tuple[pd.Series, np.ndarray]:
    cells = raw.to_numpy(dtype=object)
    values = np.full(len(raw), None, dtype=object)
    valid = np.zeros(len(raw), dtype=bool)
    for pos in np.flatnonzero(~missing):
        parsed = list_cell(kind, cells[pos])
        if parsed is not None:
            values[pos], valid[pos] = parsed, True
    return pd.Series(values, dtype=object), valid


def parse_column(name: str, kind: ParseKind, raw: pd.Series, problems: Problems) -> Parsed:
    """Parse ``raw`` as ``kind``; adds a reason ``<name>: <value> is not ...`` for every unparseable cell."""
    raw = raw.reset_index(drop=True)
    missing = missing_cells(raw)
    values: pd.Series
    if kind == "str":
        valid = text_cells(raw) & ~missing
        values = raw.where(pd.Series(valid)).astype("str")
    elif kind in ("int", "float"):
        numbers = _numbers(raw, missing)
        valid = ~missing & np.isfinite(numbers)
        if kind == "int":
            valid &= np.floor(np.where(valid, numbers, 0.0)) == np.where(valid, numbers, 0.0)
        values = pd.Series(np.where(valid, numbers, np.nan), dtype="float64")
    elif kind == "bool":
        bools, valid = _bools(raw, missing)
        cells = bools.astype(object)
        cells[~valid] = None
        values = pd.Series(cells, dtype=object)
    elif kind == "datetime":
        values = _datetimes(raw, missing)
        valid = ~missing & values.notna().to_numpy()
        values = values.where(pd.Series(valid))
    else:
        values, valid = _lists(kind, raw, missing)
    invalid = ~missing & ~valid
    if invalid.any():
        cells = raw.to_numpy(dtype=object)
        problems.add(invalid, lambda pos: [f"{name}: {show(cells[p])} {_EXPECTED[kind]}" for p in pos])
    return Parsed(values=values, missing=missing, valid=valid)


def classify_extra(raw: pd.Series) -> ExtraKind:
    """What an extra column holds, judged by the majority of its non-empty cells.

    ``float`` (numbers), ``float_list`` (lists / JSON arrays: embeddings), ``text`` (anything else, e.g. free
    text) or ``empty``. A minority of cells that do not fit become bad values of the column's kind.
    """
    raw = raw.reset_index(drop=True)
    missing = missing_cells(raw)
    present = int((~missing).sum())
    if present == 0:
        return "empty"
    if pd.api.types.is_bool_dtype(raw.dtype):
        return "text"
    if pd.api.types.is_numeric_dtype(raw.dtype):
        return "float"
    cells = raw.to_numpy(dtype=object)[~missing]
    list_like = sum(
        1
        for v in cells
        if isinstance(v, list | tuple | np.ndarray) or (isinstance(v, str) and v.lstrip().startswith("["))
    )
    if list_like * 2 > present:
        return "float_list"
    numeric = int(np.isfinite(_numbers(raw, missing)).sum())
    return "float" if numeric * 2 > present else "text"
