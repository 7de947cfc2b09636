"""Validation of dataset rows: good rows become typed frames, bad rows are quarantined with their reasons.

Rules (each reason names the field and the rule, several reasons of a row are joined with ``"; "``):

- types: text is parsed (ints, floats, booleans true/false/1/0/yes/no, ISO 8601 datetimes, JSON arrays),
  native values are type-checked; required fields must be present and non-empty (an empty or blank cell is
  missing);
- column rules from :mod:`recsys.core.schema`: minimum / maximum, enums; share groups sum to 1 ±
  ``SHARE_TOLERANCE`` (a product's target groups may be left entirely empty);
- table rules: promotion funnels (orders <= clicks <= views, refunds <= orders) and the plan's product; plan
  commission within policy, creator lists and tiers as the plan type demands, ends_at after starts_at; order
  status timestamps;
- unique ids (conflicting rows all quarantined, exact duplicates after the first quarantined);
- references to rows of this batch or the store; a reference to a row quarantined in this batch is a bad
  reference;
- extra columns of entity tables: numbers become floats, embeddings must have one length; free text is ignored
  with a warning. Extra columns of other tables are ignored with a warning.

Tables are validated in load order so that references see what earlier tables kept.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from recsys.core.config import Settings
from recsys.core.datasets import checks
from recsys.core.datasets.parse import Parsed, classify_extra, parse_column
from recsys.core.datasets.problems import Problems, show, singular
from recsys.core.datasets.refs import References
from recsys.core.schema import EXTRA_COLUMN, LISTED_PLAN_TYPES, REVISION_COLUMN, TABLES, ColumnSpec, TableSpec

KnownIds = Callable[[str, set[str]], set[str]]
"""``known_ids(table, ids)``: which of ``ids`` already exist in the store's ``table``."""
PlanProducts = Callable[[set[str]], dict[str, str]]
"""``plan_products(plan_ids)``: the product_id of each of those plans that exists in the store."""

SOURCE_ROW = "source_row"
REASON = "reason"
_RESERVED = (EXTRA_COLUMN, REVISION_COLUMN, SOURCE_ROW, REASON)


class DatasetError(Exception):
    """A fatal problem with a dataset (missing directory, unreadable file, missing required column)."""


@dataclass
class ValidationResult:
    """Typed good rows and quarantined rows per table, plus warnings about ignored columns."""

    good: dict[str, pd.DataFrame] = field(default_factory=dict)
    quarantined: dict[str, pd.DataFrame] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def n_quarantined(self) -> int:
        return sum(len(frame) for frame in self.quarantined.values())


def missing_required_columns(table: str, columns: list[str]) -> list[str]:
    """Required columns of ``table`` that are absent from ``columns``."""
    present = set(columns)
    return [c.name for c in TABLES[table].columns if c.required and c.name not in present]


def _absent(col: ColumnSpec, n: int) -> Parsed:
    """An optional column that the file does not have: every cell missing."""
    dtypes = {"str": "str", "int": "float64", "float": "float64", "datetime": "datetime64[us]"}
    values = pd.Series([None] * n, dtype=dtypes.get(col.kind, object))
    return Parsed(values=values, missing=np.ones(n, dtype=bool), valid=np.zeros(n, dtype=bool))


def _with_default(col: ColumnSpec, parsed: Parsed) -> Parsed:
    """Missing cells of an optional column take the column's default (lists become fresh lists)."""
    if col.required or col.default is None or not parsed.missing.any():
        return parsed
    values = parsed.values.copy()
    positions = np.flatnonzero(parsed.missing)
    if isinstance(col.default, tuple | list):
        values.iloc[positions] = pd.Series([list(col.default) for _ in positions], dtype=object).to_numpy()
    else:
        values.iloc[positions] = col.default
    return Parsed(values=values, missing=parsed.missing, valid=parsed.valid | parsed.missing)


def _signatures(raw: pd.DataFrame, positions: np.ndarray) -> list[str]:
    """Row contents as comparable text (lists and arrays included)."""

    def cell(v: object) -> object:
        if isinstance(v, np.ndarray):
            return v.tolist()
        return None if (isinstance(v, float) and np.isnan(v)) or v is None or v is pd.NaT else v

    rows = raw.iloc[positions].to_numpy(dtype=object)
    return [json.dumps([cell(v) for v in row], default=str) for row in rows]


def _check_unique(spec: TableSpec, raw: pd.DataFrame, keys: np.ndarray, ok_key: np.ndarray, problems: Problems) -> None:
    """Conflicting rows sharing an id are all bad; exact duplicates after the first are bad."""
    key_series = pd.Series(keys)
    dup = ok_key & key_series.duplicated(keep=False).to_numpy(dtype=bool)
    positions = np.flatnonzero(dup)
    if positions.size == 0:
        return
    groups = pd.DataFrame({"key": keys[positions], "pos": positions, "sig": _signatures(raw, positions)})
    for key, group in groups.groupby("key", sort=False):
        rows = group["pos"].to_numpy()
        if group["sig"].nunique() == 1:
            for pos in rows[1:]:
                problems.add_at(int(pos), f"{spec.key}: {show(key)} is an exact duplicate of row {rows[0] + 1}")
            continue
        for pos in rows:
            others = ", ".join(str(p + 1) for p in rows if p != pos)
            problems.add_at(int(pos), f"{spec.key}: {show(key)} is also used by row(s) {others} with different content")


def _typed(col: ColumnSpec, values: pd.Series) -> pd.Series:
    """A column's good values with the dtype ``Store.read_table`` gives it."""
    values = values.reset_index(drop=True)
    if col.kind == "str":
        return values.astype("str")
    if col.kind == "int":
        return values.astype("int64") if values.notna().all() else values.astype("float64")
    if col.kind == "float":
        return values.astype("float64")
    if col.kind == "bool":
        return values.astype(bool)
    if col.kind == "datetime":
        return values.astype("datetime64[us]")
    return values.astype(object)


class Validator:
    """Validates tables one after another, remembering what earlier tables kept and quarantined."""

    def __init__(self, settings: Settings, known_ids: KnownIds, plan_products: PlanProducts | None = None) -> None:
        self.settings = settings
        self.refs = References(known_ids, plan_products)
        self.result = ValidationResult()

    def table(self, name: str, raw: pd.DataFrame, spec: TableSpec | None = None) -> None:
        """Validate one table's rows and record its good and quarantined rows in :attr:`result` (``spec``: a table
        outside :data:`TABLES`, e.g. ``recsys.core.datasets.samples.SAMPLE_REQUESTS_SPEC``)."""
        spec = spec if spec is not None else TABLES[name]
        missing = [c.name for c in spec.columns if c.required and c.name not in set(raw.columns)]
        if missing:
            raise DatasetError(f"{name}: missing required column(s) {', '.join(missing)}")
        raw = raw.reset_index(drop=True)
        n = len(raw)
        problems = Problems(n)
        cols: dict[str, Parsed] = {}
        ok: dict[str, np.ndarray] = {}
        for col in spec.columns:
            parsed = parse_column(col.name, col.kind, raw[col.name], problems) if col.name in raw else _absent(col, n)
            ok[col.name] = checks.check_column(col, parsed, problems)
            cols[col.name] = _with_default(col, parsed)
            if not col.required and col.default is not None:
                ok[col.name] = ok[col.name] | parsed.missing
        extras = self._extras(spec, raw, problems)
        self._table_rules(spec, cols, ok, problems)
        keys = cols[spec.key].values.to_numpy(dtype=object)
        _check_unique(spec, raw, keys, ok[spec.key], problems)
        self._references(spec, cols, ok, problems)
        bad = problems.bad
        good = pd.DataFrame({c.name: _typed(c, cols[c.name].values[~bad]) for c in spec.columns})
        for extra_name, values in sorted(extras.items()):
            good[extra_name] = values[~bad].reset_index(drop=True)
        bad_positions = np.flatnonzero(bad)
        quarantined = raw.iloc[bad_positions].reset_index(drop=True)
        quarantined[SOURCE_ROW] = bad_positions + 1
        quarantined[REASON] = problems.reasons(bad_positions)
        self.result.good[name] = good
        self.result.quarantined[name] = quarantined
        self.refs.record(name, good, keys[bad_positions][ok[spec.key][bad_positions]], spec.key)

    def _extras(self, spec: TableSpec, raw: pd.DataFrame, problems: Problems) -> dict[str, pd.Series]:
        """Parse extra columns of entity tables; warn about the ones that are ignored."""
        kept: dict[str, pd.Series] = {}
        for name in (c for c in raw.columns if c not in spec.column_names):
            label = f"{spec.name}: extra column {name!r}"
            if not spec.keeps_extras:
                self.result.warnings.append(f"{label} is not part of the schema; ignored")
                continue
            if name in _RESERVED:
                self.result.warnings.append(f"{label} has a reserved name; ignored")
                continue
            kind = classify_extra(raw[name])
            if kind == "text" or kind == "empty":
                what = "is not numeric" if kind == "text" else "has no values"
                self.result.warnings.append(f"{label} {what}; ignored (only numeric and embedding extras are kept)")
                continue
            parsed = parse_column(name, kind, raw[name], problems)
            values = parsed.values
            if kind == "float_list":
                lengths = np.fromiter(
                    (len(v) if isinstance(v, list) else -1 for v in values), dtype=int, count=len(values)
                )
                usual = int(pd.Series(lengths[parsed.valid]).mode().iloc[0]) if parsed.valid.any() else 0
                odd = parsed.valid & (lengths != usual)
                problems.add_values(odd, f"{name}: {{}} values, expected {usual} like the other rows", lengths)
                values = values.where(pd.Series(parsed.valid), np.nan)
            kept[name] = values
        return kept

    def _table_rules(
        self, spec: TableSpec, cols: dict[str, Parsed], ok: dict[str, np.ndarray], problems: Problems
    ) -> None:
        if spec.share_groups:
            checks.check_share_groups(spec, cols, ok, problems)
        if spec.name == "promotions":
            checks.check_promotion_funnel(cols, ok, problems)
        elif spec.name == "orders":
            checks.check_order_timeline(cols, ok, problems)
        elif spec.name == "plans":
            checks.check_plans(cols, ok, problems, self.settings.rules)
        elif spec.name == "sample_requests":
            checks.check_sample_timeline(cols, ok, problems)

    def _references(
        self, spec: TableSpec, cols: dict[str, Parsed], ok: dict[str, np.ndarray], problems: Problems
    ) -> None:
        for column, target in spec.references.items():
            ids = cols[column].values.to_numpy(dtype=object)
            status = self.refs.resolve(target, ids, ok[column])
            ok[column] = ok[column] & (status == References.OK)
            noun = singular(target)
            problems.add_values(status == References.UNKNOWN, f"{column}: references unknown {noun} {{}}", ids)
            problems.add_values(
                status == References.QUARANTINED,
                f"{column}: references {noun} {{}}, which is quarantined in this import",
                ids,
            )
        if spec.name == "plans":
            plan_type = cols["plan_type"].values.to_numpy(dtype=object)
            listed = ok["plan_type"] & ok["creator_ids"] & np.isin(plan_type, LISTED_PLAN_TYPES)
            for pos, message in self.refs.check_lists("creator_ids", "creators", cols["creator_ids"].values, listed):
                problems.add_at(pos, message)
        if spec.name == "promotions":
            usable = ok["plan_id"] & ok["product_id"]
            for pos, message in self.refs.check_plan_products(
                cols["plan_id"].values, cols["product_id"].values, usable
            ):
                problems.add_at(pos, message)


def validate_rows(
    table: str,
    frame: pd.DataFrame,
    settings: Settings,
    known_ids: KnownIds,
    *,
    plan_products: PlanProducts | None = None,
) -> ValidationResult:
    """Validate one batch of ``table`` rows; references must exist in the store (``known_ids``).

    ``plan_products`` (optional) lets a promotion's plan be checked against its product when the plan is in
    the store. Raises :class:`DatasetError` when a required column is absent.
    """
    if table not in TABLES:
        raise DatasetError(f"unknown table {table!r}; known: {', '.join(TABLES)}")
    validator = Validator(settings, known_ids, plan_products)
    validator.table(table, frame)
    return validator.result


def validate_tables(
    raw: dict[str, pd.DataFrame],
    settings: Settings,
    known_ids: KnownIds,
    *,
    plan_products: PlanProducts | None = None,
) -> ValidationResult:
    """Validate several tables (any subset of :data:`recsys.core.schema.TABLES`) in load order.

    ``raw`` maps table name to the rows as read (CSV strings or native Parquet values); references resolve to
    rows kept in this batch or, through ``known_ids``, to rows already in the store.
    """
    unknown = sorted(set(raw) - set(TABLES))
    if unknown:
        raise DatasetError(f"unknown table(s) {', '.join(unknown)}; known: {', '.join(TABLES)}")
    validator = Validator(settings, known_ids, plan_products)
    for name in TABLES:
        if name in raw:
            validator.table(name, raw[name])
    return validator.result
