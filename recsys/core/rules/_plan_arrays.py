"""The plans frame as flat numpy arrays (one entry per plan row, ragged columns in COO form), and merging.

This is the parsing half of the PlanBook: the expensive per-cell work happens once here; the indexes the
queries use are derived from these arrays with numpy only (see ``_plan_index.py``), so a refresh parses just
the changed rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from itertools import chain
from pathlib import Path

import numpy as np
import pandas as pd

from recsys.core.atomic import save_npy, save_npz
from recsys.core.rules._columns import as_tiers, explode_lists, ranges, times_ns
from recsys.core.schema import PLAN_TYPES, TIER_BASES
from recsys.core.vocab import PlanType

TYPE_CODES: dict[str, int] = {t: i for i, t in enumerate(PLAN_TYPES)}
OPEN, EXCLUSIVE, TARGETED, TIERED = (
    t.code for t in (PlanType.OPEN, PlanType.EXCLUSIVE, PlanType.TARGETED, PlanType.TIERED)
)
UNITS, GMV = TIER_BASES.index("units"), TIER_BASES.index("gmv")


@dataclass
class PlanArrays:
    """Per-plan columns (length n_plans) and ragged columns as (plan row, value) pairs sorted by plan row."""

    plan_ids: np.ndarray  # object (str), or fixed-width str mapped from a file (``load``)
    product_row: np.ndarray  # int32, -1 = product not in the products frame
    type_code: np.ndarray  # int8 index into PLAN_TYPES, -1 = unknown type
    base_rate: np.ndarray  # float64 (NaN if missing)
    min_followers: np.ndarray  # int64
    starts: np.ndarray  # int64 ns
    ends: np.ndarray  # int64 ns, INT64_MAX = open-ended
    budget: np.ndarray  # float64, NaN = unlimited
    budget_spent: np.ndarray  # float64
    basis: np.ndarray  # int8 index into TIER_BASES, -1 = unknown
    has_categories: np.ndarray  # bool: allowed_categories is not empty
    has_regions: np.ndarray  # bool: allowed_regions is not empty
    tier_plan: np.ndarray  # int64 plan row of each tier (tier order kept within a plan)
    tier_min: np.ndarray  # float64
    tier_rate: np.ndarray  # float64
    listed_plan: np.ndarray  # int64 plan row of each listed creator
    listed_creator: np.ndarray  # int64 creator row (creators not in the creators frame are dropped)
    category_plan: np.ndarray  # int64
    category_code: np.ndarray  # int64 code in the creators' category vocabulary, -1 = no creator has it
    region_plan: np.ndarray  # int64
    region_code: np.ndarray  # int64 code in the creators' region vocabulary, -1 = no creator is there
    _row_of: dict[str, int] | None = field(default=None, repr=False)  # plan_id -> plan row (see row_of)

    @property
    def n_plans(self) -> int:
        return len(self.plan_ids)

    @property
    def row_of(self) -> dict[str, int]:
        """plan_id -> plan row; arrays read back from a file build it on first use (1 s at 1.2M plans: the first
        plan refresh pays it, in the background, not the worker's start)."""
        if self._row_of is None:
            self._row_of = dict(zip(self.plan_ids.tolist(), range(self.n_plans), strict=True))
        return self._row_of

    def save(self, path: Path) -> None:
        """The plan ids as fixed-width text in their own ``.npy`` next to ``path`` (:func:`ids_path`; a reader maps
        it), then every other array in one uncompressed ``.npz`` at ``path`` (no pickle); each written aside and
        renamed into place, the ids first, so a reader that finds the ``.npz`` finds its ids."""
        save_npy(ids_path(path), np.asarray(self.plan_ids.tolist(), dtype=np.str_))
        arrays = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("_row_of", "plan_ids")}
        save_npz(path, arrays)

    @classmethod
    def load(cls, path: Path) -> PlanArrays:
        """Arrays saved by :meth:`save` (raises OSError / ValueError / KeyError when the files are not those). The
        plan ids stay a read-only map of their file: 1.2M ids as Python strings were ~80 MiB of every worker's
        heap, and a list only reads the ids of the plans on its page."""
        with np.load(path, allow_pickle=False) as data:
            arrays = {f.name: data[f.name] for f in fields(cls) if f.name not in ("_row_of", "plan_ids")}
        plan_ids = np.load(ids_path(path), mmap_mode="r", allow_pickle=False)
        if plan_ids.dtype.kind != "U" or plan_ids.shape != arrays["product_row"].shape:
            raise ValueError(f"{ids_path(path)}: not the plan ids of {path.name}")
        return cls(plan_ids=plan_ids, **arrays)


def ids_path(path: Path) -> Path:
    """Where :meth:`PlanArrays.save` keeps the plan ids of the arrays saved at ``path``."""
    return path.with_name(f"{path.stem}.ids.npy")


def _numeric(frame: pd.DataFrame, field: str, default: float | None) -> np.ndarray:
    """A numeric column as float64; a missing optional column is ``default``; a non-number names its row."""
    if field not in frame.columns:
        if default is None:
            raise ValueError(f"plans: field {field!r} is missing")
        return np.full(len(frame), default, dtype=np.float64)
    try:
        values = pd.to_numeric(frame[field], errors="raise").to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError):
        coerced = pd.to_numeric(frame[field], errors="coerce")
        bad = int(np.flatnonzero(coerced.isna().to_numpy() & frame[field].notna().to_numpy())[0])
        raise ValueError(f"plans row {bad}: field {field!r} must be a number, got {frame[field].iloc[bad]!r}") from None
    if default is not None:
        values = np.where(np.isnan(values), default, values)
    return values


def _strings(frame: pd.DataFrame, field: str, default: str | None = None) -> pd.Index:
    if field not in frame.columns:
        if default is None:
            raise ValueError(f"plans: field {field!r} is missing")
        return pd.Index([default] * len(frame), dtype=object)
    column = frame[field]
    if default is not None:
        column = column.where(column.notna() & (column.astype(str).str.strip() != ""), default)
    return pd.Index(column.astype(str).to_numpy(dtype=object), dtype=object)


def _ragged(frame: pd.DataFrame, field: str) -> tuple[np.ndarray, pd.Index]:
    if field not in frame.columns:
        return np.zeros(0, dtype=np.int64), pd.Index([], dtype=object)
    rows, items = explode_lists(frame[field], "plans", field)
    if not set(map(type, items)) <= {str}:
        items = [str(v) for v in items]
    return rows, pd.Index(items, dtype=object)


def _tier_pairs(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Fast path: every cell a list of [min, rate] pairs -> (lengths, pairs array); ``None`` if not."""
    if not set(map(type, cells)) <= {list}:
        return None
    lengths = np.fromiter(map(len, cells), dtype=np.int64, count=len(cells))
    try:
        pairs = np.array(list(chain.from_iterable(cells)), dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if pairs.size == 0:
        pairs = pairs.reshape(0, 2)
    return (lengths, pairs) if pairs.ndim == 2 and pairs.shape[1] == 2 else None


def _tiers(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if "tiers" not in frame.columns:
        empty = np.zeros(0)
        return empty.astype(np.int64), empty, empty
    cells = frame["tiers"].to_numpy(dtype=object)
    fast = _tier_pairs(cells)
    if fast is None:  # JSON strings, arrays, dicts, or a bad cell (as_tiers names it)
        parsed = [as_tiers(c, f"plans row {i}") for i, c in enumerate(cells)]
        lengths = np.fromiter(map(len, parsed), dtype=np.int64, count=len(parsed))
        pairs = np.array(list(chain.from_iterable(parsed)), dtype=np.float64).reshape(-1, 2)
    else:
        lengths, pairs = fast
    return np.repeat(np.arange(len(cells), dtype=np.int64), lengths), pairs[:, 0].copy(), pairs[:, 1].copy()


def parse_plans(
    plans: pd.DataFrame,
    product_index: pd.Index,
    creator_index: pd.Index,
    category_vocab: pd.Index,
    region_vocab: pd.Index,
) -> PlanArrays:
    """Parse a plans frame (schema columns) against the products/creators it refers to."""
    plan_ids = _strings(plans, "plan_id")
    n = len(plans)
    row_of = dict(zip(plan_ids.tolist(), range(n), strict=True))
    if len(row_of) < n:
        dup = plan_ids[int(np.flatnonzero(plan_ids.duplicated())[0])]
        rows = np.flatnonzero(plan_ids == dup).tolist()
        raise ValueError(f"plans rows {rows}: plan_id {dup!r} appears more than once")
    base = _numeric(plans, "commission_rate", None)
    min_followers = np.trunc(_numeric(plans, "min_followers", 0.0)).astype(np.int64)
    budget = _numeric(plans, "budget", np.nan) if "budget" in plans.columns else np.full(n, np.nan)
    tier_plan, tier_min, tier_rate = _tiers(plans)
    listed_plan, listed_ids = _ragged(plans, "creator_ids")
    listed_creator = creator_index.get_indexer(listed_ids).astype(np.int64)
    known = listed_creator >= 0
    category_plan, categories = _ragged(plans, "allowed_categories")
    region_plan, regions = _ragged(plans, "allowed_regions")
    return PlanArrays(
        plan_ids=plan_ids.to_numpy(dtype=object),
        product_row=product_index.get_indexer(_strings(plans, "product_id")).astype(np.int32),
        type_code=pd.Index(PLAN_TYPES).get_indexer(_strings(plans, "plan_type")).astype(np.int8),
        base_rate=base,
        min_followers=min_followers,
        starts=times_ns(plans["starts_at"], "plans", "starts_at", required=True),
        ends=times_ns(plans["ends_at"], "plans", "ends_at", required=False)
        if "ends_at" in plans.columns
        else np.full(n, np.iinfo(np.int64).max),
        budget=budget,
        budget_spent=_numeric(plans, "budget_spent", 0.0),
        basis=pd.Index(TIER_BASES).get_indexer(_strings(plans, "tier_basis", "units")).astype(np.int8),
        has_categories=np.bincount(category_plan, minlength=n) > 0,
        has_regions=np.bincount(region_plan, minlength=n) > 0,
        tier_plan=tier_plan,
        tier_min=tier_min,
        tier_rate=tier_rate,
        listed_plan=listed_plan[known],
        listed_creator=listed_creator[known],
        category_plan=category_plan,
        category_code=category_vocab.get_indexer(categories).astype(np.int64),
        region_plan=region_plan,
        region_code=region_vocab.get_indexer(regions).astype(np.int64),
        _row_of=row_of,
    )


_PER_PLAN = [
    "plan_ids",
    "product_row",
    "type_code",
    "base_rate",
    "min_followers",
    "starts",
    "ends",
    "budget",
    "budget_spent",
    "basis",
    "has_categories",
    "has_regions",
]
_RAGGED = {"tier": ("tier_min", "tier_rate"), "listed": ("listed_creator",), "category": ("category_code",)}
_RAGGED["region"] = ("region_code",)


def plan_rows(current: PlanArrays, plan_ids: np.ndarray) -> np.ndarray:
    """Rows of ``plan_ids`` in ``current`` (-1 for plans it does not have)."""
    get = current.row_of.get
    return np.fromiter((get(pid, -1) for pid in plan_ids), dtype=np.int64, count=len(plan_ids))


def _entries(a: PlanArrays, prefix: str, rows: np.ndarray) -> list[np.ndarray]:
    """Ragged entries (plan row, values...) of ``rows``, in row order."""
    plan = getattr(a, f"{prefix}_plan")
    starts, ends = np.searchsorted(plan, rows, "left"), np.searchsorted(plan, rows, "right")
    take = ranges(starts, ends)
    return [plan[take], *(getattr(a, name)[take] for name in _RAGGED[prefix])]


def update_plans(current: PlanArrays, changed: PlanArrays, rows: np.ndarray) -> PlanArrays | None:
    """Fast path of :func:`merge_plans` when every changed plan exists and only its per-plan values changed
    (same product, type, listed creators, tiers, categories and regions): the derived indexes stay valid
    except terms validity. Returns ``None`` when the fast path does not apply."""
    if (rows < 0).any():
        return None
    for name in ("product_row", "type_code", "has_categories", "has_regions"):
        if not np.array_equal(getattr(current, name)[rows], getattr(changed, name)):
            return None
    order = np.argsort(rows)
    for prefix in _RAGGED:
        old = _entries(current, prefix, rows[order])
        new = _entries(changed, prefix, order)
        new[0] = rows[new[0]]
        if any(not np.array_equal(o, n, equal_nan=o.dtype.kind == "f") for o, n in zip(old, new, strict=True)):
            return None
    updated = {}
    for name in _PER_PLAN:
        values = getattr(current, name).copy()
        values[rows] = getattr(changed, name)
        updated[name] = values
    return replace(current, **updated)


def merge_plans(current: PlanArrays, changed: PlanArrays) -> PlanArrays:
    """``current`` with the plans of ``changed`` upserted by plan_id: existing rows keep their row number and
    take the new values; new plans are appended in ``changed``'s order."""
    rows = plan_rows(current, changed.plan_ids)
    new = rows < 0
    rows[new] = current.n_plans + np.arange(int(new.sum()))
    n_total = current.n_plans + int(new.sum())
    merged = {}
    for name in _PER_PLAN:
        old = getattr(current, name)
        out = np.empty(n_total, dtype=object if name == "plan_ids" else old.dtype)  # fixed width would cut new ids
        out[: current.n_plans] = old
        out[rows] = getattr(changed, name)
        merged[name] = out
    replaced = np.zeros(n_total, dtype=bool)
    replaced[rows] = True
    for prefix, values in _RAGGED.items():
        old_plan = getattr(current, f"{prefix}_plan")
        keep = ~replaced[old_plan]
        plan = np.concatenate([old_plan[keep], rows[getattr(changed, f"{prefix}_plan")]])
        order = np.argsort(plan, kind="stable")
        merged[f"{prefix}_plan"] = plan[order]
        for name in values:
            merged[name] = np.concatenate([getattr(current, name)[keep], getattr(changed, name)])[order]
    row_of = dict(current.row_of)
    row_of.update(zip(changed.plan_ids[new].tolist(), rows[new].tolist(), strict=True))
    return replace(current, **merged, _row_of=row_of)
