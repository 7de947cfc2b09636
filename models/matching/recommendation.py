"""One recommended pair as the matcher returns it (:class:`Recommendation`), and a page of them as columns
(:class:`Page`): every figure rounded as the API shows it, once, in :func:`page_figures`.

A page's figures arrive as numpy columns; reading them item by item as numpy scalars cost more CPU than the rest of
the page (bench/PROFILE.md), so each column becomes a Python list once (rounded with
:func:`recsys.core.rounding.rounded`, Python's ``round`` value for value). The list endpoints build their JSON items
from those lists (``serving.views``); :class:`Recommendation` objects are built from the same lists only for callers
that ask (:meth:`Page.recommendations`), so both carry the same values.
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any, Concatenate, ParamSpec, TypeVar

import numpy as np

from models.matching.explain import Reason
from recsys.core.rounding import rounded
from recsys.core.vocab import PlanType

_PLAN_TYPES = tuple(PlanType)


@dataclass
class Recommendation:
    creator_id: str
    product_id: str
    score: float  # the value the list is ordered by (capacity-aware; a creator's pool blends in earnings)
    fit_score: float  # the ranker's score as its place among validation pairs, in [0, 1]
    predicted_gmv: float  # calibrated expected GMV of a new collaboration over the horizon (yuan)
    predicted_units: float  # expected units (orders) over the horizon
    distribution_weight: float
    commission_rate: float
    plan_id: str | None
    plan_type: PlanType | None
    expected_commission: float  # the creator's expected earnings = the merchant's expected commission cost
    merchant_roi: float | None  # expected GMV / (expected commission + sample cost)
    eligible: bool = True
    refusal_reason: str | None = None
    reasons: list[Reason] = field(default_factory=list)
    existing: bool = False  # the creator already promotes the product (shown only when asked for)
    capacity_price: float = 0.0  # congestion price of the creator's and product's capacity, in yuan of GMV
    creator_capacity_left: int | None = None  # new collaborations the creator can still take this period
    predicted_gmv_low: float = 0.0  # 80% interval of predicted_gmv
    predicted_gmv_high: float = 0.0
    predicted_units_low: float = 0.0  # 80% interval of predicted_units
    predicted_units_high: float = 0.0
    expected_commission_low: float = 0.0  # 80% interval of expected_commission
    expected_commission_high: float = 0.0
    sample_cost: float = 0.0  # what the collaboration's sample costs the merchant (0 for an existing partner)
    suspected_fake_engagement: bool = False  # the creator's followers or views look bought (models.integrity)
    creator_row: int = -1  # rows of the bundle's id maps, so the response needs no id lookups
    product_row: int = -1
    predicted_gpm: float = 0.0  # the distribution model's GMV per 1,000 views of the promotion (yuan)


@dataclass(frozen=True)
class PageColumns:
    """A page's figures, one aligned column per field (numpy arrays or lists), in page order.

    c, p : creator and product rows; creator_ids, product_ids : their ids; price : capacity prices (None: 0);
    left, limited : each creator's capacity left and whether it is known; the rest as in :class:`Recommendation`.
    """

    c: np.ndarray
    p: np.ndarray
    creator_ids: list[str]
    product_ids: list[str]
    score: np.ndarray
    fit: np.ndarray
    weight: np.ndarray
    gpm: np.ndarray
    gmv: np.ndarray
    gmv_low: np.ndarray
    gmv_high: np.ndarray
    units: np.ndarray
    units_low: np.ndarray
    units_high: np.ndarray
    commission: np.ndarray
    commission_low: np.ndarray
    commission_high: np.ndarray
    sample_cost: np.ndarray
    roi: np.ndarray
    rate: np.ndarray
    plan_row: np.ndarray
    plan_type: np.ndarray
    eligible: np.ndarray
    reason: np.ndarray
    existing: np.ndarray
    suspected: np.ndarray
    left: np.ndarray
    limited: np.ndarray
    price: np.ndarray | None


# (Recommendation field, PageColumns column, decimals): the figures rounded as the API shows them
_ROUNDED = (
    ("score", "score", 6),
    ("fit_score", "fit", 4),
    ("predicted_gmv", "gmv", 2),
    ("predicted_units", "units", 2),
    ("distribution_weight", "weight", 4),
    ("predicted_gpm", "gpm", 2),
    ("commission_rate", "rate", 4),
    ("expected_commission", "commission", 2),
    ("predicted_gmv_low", "gmv_low", 2),
    ("predicted_gmv_high", "gmv_high", 2),
    ("predicted_units_low", "units_low", 2),
    ("predicted_units_high", "units_high", 2),
    ("expected_commission_low", "commission_low", 2),
    ("expected_commission_high", "commission_high", 2),
    ("sample_cost", "sample_cost", 2),
)
FIELDS = tuple(f.name for f in fields(Recommendation))  # the dataclass's order (its positional arguments)


def _flags(values: Any) -> list[bool]:
    return [bool(x) for x in np.asarray(values).tolist()]


def page_figures(
    columns: PageColumns, reasons: list[list[Reason]], plan_ids: np.ndarray | None
) -> dict[str, list[Any]]:
    """Per :class:`Recommendation` field, the page's values in page order, every figure rounded as the API shows
    it (NaN stays NaN: the response turns it into 0). What the objects hold and what list responses are built
    from (``serving.views``) without one object per item."""
    n = len(columns.c)
    out: dict[str, list[Any]] = {field: rounded(getattr(columns, column), digits) for field, column, digits in _ROUNDED}
    plan_rows = np.asarray(columns.plan_row).tolist()
    out["creator_id"], out["product_id"] = list(columns.creator_ids), list(columns.product_ids)
    out["plan_id"] = [str(plan_ids[r]) if plan_ids is not None and r >= 0 else None for r in plan_rows]
    out["plan_type"] = [_PLAN_TYPES[t] if t >= 0 else None for t in np.asarray(columns.plan_type).tolist()]
    out["merchant_roi"] = [v if math.isfinite(v) else None for v in rounded(columns.roi, 3)]
    out["eligible"] = _flags(columns.eligible)
    out["refusal_reason"] = np.asarray(columns.reason).tolist()
    out["reasons"] = reasons
    out["existing"] = _flags(columns.existing)
    out["capacity_price"] = [0.0] * n if columns.price is None else rounded(columns.price, 2)
    left, limited = np.asarray(columns.left).tolist(), _flags(columns.limited)
    out["creator_capacity_left"] = [int(x) if known else None for x, known in zip(left, limited, strict=True)]
    out["suspected_fake_engagement"] = _flags(columns.suspected)
    out["creator_row"] = [int(x) for x in np.asarray(columns.c).tolist()]
    out["product_row"] = [int(x) for x in np.asarray(columns.p).tolist()]
    return out


def page_recommendations(
    columns: PageColumns, reasons: list[list[Reason]], plan_ids: np.ndarray | None
) -> list[Recommendation]:
    """The page's :class:`Recommendation` objects, in page order (``plan_ids``: the plan book's id per plan row)."""
    figures = page_figures(columns, reasons, plan_ids)
    return [Recommendation(*values) for values in zip(*(figures[name] for name in FIELDS), strict=True)]


@dataclass(frozen=True)
class Page:
    """A page of a list as the matcher computed it: its columns and reasons, from which either the
    :class:`Recommendation` objects (:meth:`recommendations`) or the figures a response is built from
    (:meth:`figures`) come. An empty page has no columns."""

    columns: PageColumns | None = None
    reasons: list[list[Reason]] = field(default_factory=list)
    plan_ids: np.ndarray | None = None

    def __len__(self) -> int:
        return 0 if self.columns is None else len(self.columns.c)

    def figures(self) -> dict[str, list[Any]]:
        if self.columns is None:
            return {name: [] for name in FIELDS}
        return page_figures(self.columns, self.reasons, self.plan_ids)

    def recommendations(self) -> list[Recommendation]:
        if self.columns is None:
            return []
        return page_recommendations(self.columns, self.reasons, self.plan_ids)


_P = ParamSpec("_P")
_S = TypeVar("_S")


def as_objects(page: Callable[Concatenate[_S, _P], Page]) -> Callable[Concatenate[_S, _P], list[Recommendation]]:
    """A list method returning :class:`Recommendation` objects from one returning its :class:`Page` (same arguments
    and docstring)."""

    @functools.wraps(page)
    def objects(self: _S, *args: _P.args, **kwargs: _P.kwargs) -> list[Recommendation]:
        return page(self, *args, **kwargs).recommendations()

    objects.__doc__ = f"{page.__doc__}\n\n        As Recommendation objects (:meth:`Page.recommendations`)."
    objects.__signature__ = inspect.signature(page).replace(return_annotation="list[Recommendation]")  # type: ignore[attr-defined]
    return objects
