"""Cell coercion shared by the scalar records and the vectorized PlanBook (both read a frame the same way).

List cells arrive as Python lists (store), numpy arrays (Parquet), JSON strings (CSV) or empty values; times
as ``datetime``/``Timestamp`` (naive UTC, or aware and converted to UTC) or ISO strings.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from itertools import chain
from typing import Any

import numpy as np
import pandas as pd

Tiers = tuple[tuple[float, float], ...]
_NS_PER_DAY = 86_400 * 1_000_000_000
INT64_MAX = np.iinfo(np.int64).max


def is_missing(value: Any) -> bool:
    """None, NaN, NaT, pd.NA or an empty string."""
    if value is None or value is pd.NaT or value is pd.NA:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and value.strip() == ""


def _json_list(value: str, where: str, field: str) -> list[Any]:
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{where}: field {field!r} must be a JSON array, got {value!r} ({exc.msg})") from None
    if not isinstance(parsed, list):
        raise ValueError(f"{where}: field {field!r} must be a JSON array, got {value!r}")
    return parsed


def as_list(value: Any, where: str, field: str) -> list[Any]:
    """A list cell as a Python list (empty for a missing cell)."""
    if isinstance(value, list):
        return value
    if isinstance(value, tuple | np.ndarray | frozenset | set):
        return list(value)
    if is_missing(value):
        return []
    if isinstance(value, str):
        return _json_list(value, where, field)
    raise ValueError(f"{where}: field {field!r} must be a list, got {type(value).__name__} {value!r}")


def as_str_tuple(value: Any, where: str, field: str) -> tuple[str, ...]:
    return tuple(str(v) for v in as_list(value, where, field))


def as_tiers(value: Any, where: str, field: str = "tiers") -> Tiers:
    """``[[min_amount, rate], ...]`` (or ``[{"min": .., "rate": ..}, ...]``) as a tuple of float pairs."""
    out: list[tuple[float, float]] = []
    for i, tier in enumerate(as_list(value, where, field)):
        if isinstance(tier, dict):
            keys = [k for k in ("min_amount", "min_units", "min") if k in tier]
            if not keys or "rate" not in tier:
                raise ValueError(f"{where}: field {field!r} tier {i} needs 'min' and 'rate', got {tier!r}")
            pair: Any = (tier[keys[0]], tier["rate"])
        elif isinstance(tier, list | tuple | np.ndarray) and len(tier) == 2:
            pair = tier
        else:
            raise ValueError(f"{where}: field {field!r} tier {i} must be [min_amount, rate], got {tier!r}")
        try:
            out.append((float(pair[0]), float(pair[1])))
        except (TypeError, ValueError):
            raise ValueError(f"{where}: field {field!r} tier {i} must hold two numbers, got {tier!r}") from None
    return tuple(out)


def as_timestamp(value: Any, where: str = "value", field: str = "time") -> pd.Timestamp | None:
    """A time as a naive-UTC ``Timestamp`` (``None`` when missing)."""
    if is_missing(value):
        return None
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: field {field!r} must be a date-time, got {value!r}") from None
    if ts is pd.NaT:
        return None
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts


def require_timestamp(value: Any, where: str = "value", field: str = "time") -> pd.Timestamp:
    ts = as_timestamp(value, where, field)
    if ts is None:
        raise ValueError(f"{where}: field {field!r} is required, got an empty value")
    return ts


def as_optional_float(value: Any, where: str, field: str) -> float | None:
    if is_missing(value):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: field {field!r} must be a number, got {value!r}") from None


def now_ns(now: datetime | pd.Timestamp | np.datetime64 | str) -> int:
    """``now`` as int64 nanoseconds since the epoch (naive UTC)."""
    return int(require_timestamp(now, "now", "now").as_unit("ns").value)


def days_ns(days: float) -> int:
    return round(days * _NS_PER_DAY)


def times_ns(series: pd.Series, table: str, field: str, required: bool) -> np.ndarray:
    """A datetime column as int64 ns; missing -> ``INT64_MAX`` (open-ended), or an error if ``required``."""
    if isinstance(series.dtype, np.dtype) and series.dtype.kind == "M":  # naive datetime64: the common case
        values = series.to_numpy(dtype="datetime64[ns]").view(np.int64).copy()
        missing = values == np.iinfo(np.int64).min
    elif len(series) == 0:
        values, missing = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool)
    else:
        times = pd.to_datetime(series, utc=True, errors="raise")
        missing = times.isna().to_numpy()
        values = times.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]").view(np.int64).copy()
    if required and missing.any():
        row = int(np.flatnonzero(missing)[0])
        raise ValueError(f"{table} row {row}: field {field!r} is required, got an empty value")
    values[missing] = INT64_MAX
    return values


def explode_lists(series: pd.Series, table: str, field: str) -> tuple[np.ndarray, list[Any]]:
    """A list column as (row index of every item, items) — the COO form of a ragged column."""
    cells = series.to_numpy(dtype=object)
    if set(map(type, cells)) <= {list}:  # fast path: every cell already a Python list (store, synth)
        lists: Any = cells
    else:
        lists = [c if isinstance(c, list) else as_list(c, f"{table} row {i}", field) for i, c in enumerate(cells)]
    lengths = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
    rows = np.repeat(np.arange(len(lists), dtype=np.int64), lengths)
    return rows, list(chain.from_iterable(lists))


def as_bool(value: Any, where: str, field: str) -> bool:
    """A boolean cell (``True``/``False``, 0/1, or the strings true/false/yes/no/1/0); empty -> False."""
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("true", "1", "yes"):
            return True
        if lowered in ("false", "0", "no", ""):
            return False
        raise ValueError(f"{where}: field {field!r} must be true or false, got {value!r}")
    return False if is_missing(value) else bool(value)


def bool_array(series: pd.Series, table: str, field: str) -> np.ndarray:
    """A boolean column as a numpy bool array, read exactly as :func:`as_bool` reads one cell."""
    if pd.api.types.is_bool_dtype(series.dtype) and not series.isna().any():
        return series.to_numpy(dtype=bool)
    cells = series.to_numpy(dtype=object)
    return np.fromiter(
        (as_bool(v, f"{table} row {i}", field) for i, v in enumerate(cells)), dtype=bool, count=len(cells)
    )


def ranges(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(s, e)`` for aligned starts/ends, without a Python loop."""
    counts = ends - starts
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    return np.repeat(starts, counts) + offsets


def numeric_array(series: pd.Series, table: str, field: str) -> np.ndarray:
    """A numeric column as float64; a cell that is not a number raises naming its row."""
    coerced = pd.to_numeric(series, errors="coerce")
    bad = coerced.isna().to_numpy() & series.notna().to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{table} row {row}: field {field!r} must be a number, got {series.iloc[row]!r}")
    return coerced.to_numpy(dtype=np.float64, na_value=np.nan)


def id_index(frame: pd.DataFrame, key: str, table: str, known: pd.Index | None = None) -> pd.Index:
    """The ``key`` column as an object Index of str ids; a repeated id raises naming its rows. ``known``: an object
    Index of unique ids the caller holds (a bundle's vocabulary), returned itself when it is the column, row by row,
    so that its strings and its hash table are shared instead of built again (1M product ids: ~90 MB a worker)."""
    if (
        known is not None
        and known.dtype == object
        and len(known) == len(frame)
        and bool((frame[key].to_numpy(dtype=object) == known.to_numpy()).all())
    ):
        return known
    ids = pd.Index(frame[key].astype(str).to_numpy(dtype=object), dtype=object)
    if not ids.is_unique:
        dup = ids[int(np.flatnonzero(ids.duplicated())[0])]
        raise ValueError(f"{table} rows {np.flatnonzero(ids == dup).tolist()}: {key} {dup!r} appears more than once")
    return ids
