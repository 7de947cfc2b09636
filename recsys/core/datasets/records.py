"""Typed frames to store records, column by column (the same records as ``recsys.core.store.frame_to_records``).

``frame_to_records`` converts cell by cell, which takes close to a minute for two million orders; converting
whole columns first does the same job about ten times faster. Values are plain Python (``None`` for missing,
``datetime`` for timestamps, lists for list cells), so the store compares them exactly as it would the slow
path's.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from recsys.core.schema import EXTRA_COLUMN, TableSpec
from recsys.core.store import _python_value


def _float_or_none(value: float) -> float | None:
    return None if math.isnan(value) else value


def column_values(series: pd.Series) -> list[Any]:
    """A column as plain Python values, ``None`` where missing."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_integer_dtype(dtype):
        if series.isna().any():
            return [None if pd.isna(v) else v for v in series.astype(object).tolist()]
        return series.tolist()
    if pd.api.types.is_float_dtype(dtype):
        return [_float_or_none(v) for v in series.tolist()]
    if pd.api.types.is_datetime64_any_dtype(dtype):
        present = series.notna().to_numpy()
        stamps = series.dt.to_pydatetime() if hasattr(series.dt, "to_pydatetime") else series.tolist()
        return [s if ok else None for s, ok in zip(np.asarray(stamps, dtype=object).tolist(), present, strict=True)]
    if isinstance(dtype, pd.StringDtype):
        return series.astype(object).where(series.notna(), None).tolist()
    return [_python_value(v) if not (pd.api.types.is_scalar(v) and pd.isna(v)) else None for v in series.tolist()]


def _extras(frame: pd.DataFrame, names: list[str]) -> list[dict[str, Any] | None]:
    if not names:
        return [None] * len(frame)
    columns = [column_values(frame[name]) for name in names]
    extras: list[dict[str, Any] | None] = []
    for row in zip(*columns, strict=True):
        extra = {k: v for k, v in zip(names, row, strict=True) if v is not None}
        extras.append(extra or None)
    return extras


def iter_records(spec: TableSpec, frame: pd.DataFrame, chunk: int) -> Iterator[list[dict[str, Any]]]:
    """Store records of ``frame`` in chunks of ``chunk`` rows (spec columns as they are, extras folded)."""
    known = [c for c in spec.column_names if c in frame.columns]
    extra_names = [c for c in frame.columns if c not in spec.column_names] if spec.keeps_extras else []
    for start in range(0, len(frame), chunk):
        part = frame.iloc[start : start + chunk]
        columns = [column_values(part[c]) for c in known]
        records = [dict(zip(known, row, strict=True)) for row in zip(*columns, strict=True)]
        if spec.keeps_extras:
            for record, extra in zip(records, _extras(part, extra_names), strict=True):
                record[EXTRA_COLUMN] = extra
        yield records
