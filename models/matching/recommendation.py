"""One recommended pair as the matcher returns it (:class:`Recommendation`), and the page's objects built from
column lists (:func:`page_recommendations`): every figure rounded as the API shows it.

A page's figures arrive as numpy columns; reading them item by item as numpy scalars cost more CPU than the rest of
the page (bench/PROFILE.md), so each column becomes a Python list once and the objects are built from the lists —
the same values (``ndarray.tolist()`` gives exactly ``float(a[i])`` / ``int(a[i])``), rounded the same way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from models.matching.explain import Reason
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


_FLOATS = frozenset(
    {
        "score",
        "fit",
        "weight",
        "gpm",
        "gmv",
        "gmv_low",
        "gmv_high",
        "units",
        "units_low",
        "units_high",
        "commission",
        "commission_low",
        "commission_high",
        "sample_cost",
        "roi",
        "rate",
        "price",
    }
)  # the columns holding figures


def _listed(name: str, values: Any) -> list[Any]:
    """A column as a Python list: figures as Python floats (what ``float(a[i])`` gives), the rest as they are."""
    if name in _FLOATS:
        return list(np.asarray(values, dtype=np.float64).tolist())
    return values.tolist() if isinstance(values, np.ndarray) else list(values)


def page_recommendations(
    columns: PageColumns, reasons: list[list[Reason]], plan_ids: np.ndarray | None
) -> list[Recommendation]:
    """The page's :class:`Recommendation` objects, in page order (``plan_ids``: the plan book's id per plan row)."""
    col = {name: _listed(name, getattr(columns, name)) for name in PageColumns.__dataclass_fields__ if name != "price"}
    price = _listed("price", columns.price) if columns.price is not None else None
    out = []
    for j in range(len(col["c"])):
        plan_row, plan_type, roi = col["plan_row"][j], col["plan_type"][j], col["roi"][j]
        out.append(
            Recommendation(
                creator_id=col["creator_ids"][j],
                product_id=col["product_ids"][j],
                score=round(col["score"][j], 6),
                fit_score=round(col["fit"][j], 4),
                predicted_gmv=round(col["gmv"][j], 2),
                predicted_units=round(col["units"][j], 2),
                distribution_weight=round(col["weight"][j], 4),
                predicted_gpm=round(col["gpm"][j], 2),
                commission_rate=round(col["rate"][j], 4),
                plan_id=str(plan_ids[plan_row]) if plan_ids is not None and plan_row >= 0 else None,
                plan_type=_PLAN_TYPES[plan_type] if plan_type >= 0 else None,
                expected_commission=round(col["commission"][j], 2),
                merchant_roi=round(roi, 3) if math.isfinite(roi) else None,
                predicted_gmv_low=round(col["gmv_low"][j], 2),
                predicted_gmv_high=round(col["gmv_high"][j], 2),
                predicted_units_low=round(col["units_low"][j], 2),
                predicted_units_high=round(col["units_high"][j], 2),
                expected_commission_low=round(col["commission_low"][j], 2),
                expected_commission_high=round(col["commission_high"][j], 2),
                sample_cost=round(col["sample_cost"][j], 2),
                suspected_fake_engagement=bool(col["suspected"][j]),
                eligible=bool(col["eligible"][j]),
                refusal_reason=col["reason"][j],
                reasons=reasons[j],
                existing=bool(col["existing"][j]),
                capacity_price=round(price[j], 2) if price is not None else 0.0,
                creator_capacity_left=int(col["left"][j]) if col["limited"][j] else None,
                creator_row=int(col["c"][j]),
                product_row=int(col["p"][j]),
            )
        )
    return out
