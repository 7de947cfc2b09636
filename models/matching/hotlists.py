"""Public hot lists: the marketplace's leaders by recent sales or commission, from the model's feature tables and
the public plans open now.

- ``top-creators``: admitted creators by GMV over the last 30 days of the model's data (``c_log_gmv_30d``),
  leaving out creators flagged for fake engagement (``exclude``: :mod:`models.integrity.fake_engagement`);
- ``new-hits``: products listed within ``new_hit_days`` with the highest 30-day GMV;
- ``commission-picks``: products with the best public commission open now (open plans and tiered base rates).

Only public information: product lists hold products of admitted merchants that have a public plan open now, and
the rates are public rates — an exclusive or targeted plan never contributes. Ties break by the other figure, then
by row, so a list is stable.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from models.matching.matcher import Matcher

LIST_DEPTH = 200


class HotListKind(StrEnum):
    TOP_CREATORS = "top-creators"
    NEW_HITS = "new-hits"
    COMMISSION_PICKS = "commission-picks"


@dataclass(frozen=True)
class HotList:
    """Rows of the list's side (creators for ``top-creators``, products otherwise), best first, with the figures
    shown: ``recent_gmv`` (30 days), and for products the public ``rate`` and ``days_listed`` (all per row)."""

    kind: HotListKind
    rows: np.ndarray
    recent_gmv: np.ndarray
    rate: np.ndarray | None = None
    days_listed: np.ndarray | None = None


def public_rates(matcher: Matcher) -> np.ndarray:
    """Best public commission rate open now per product row (NaN where none), from the plan rules; without them
    (offline), the bundle's best public rate at training time."""
    if matcher.planbook is None:
        return matcher.engine.tables.arrays["product_best_rate"].astype(np.float64)
    return matcher.planbook.public_rates()


def _column(matrix: np.ndarray, names: list[str], name: str) -> np.ndarray:
    return np.nan_to_num(matrix[:, names.index(name)].astype(np.float64), nan=0.0)


def _top(values: np.ndarray, mask: np.ndarray, tie: np.ndarray) -> np.ndarray:
    rows = np.flatnonzero(mask)
    order = np.lexsort((rows, -tie[rows], -values[rows]))
    return rows[order][:LIST_DEPTH]


def _category_code(matcher: Matcher, category: str) -> int:
    code = matcher.engine.tables.category_vocab.code(category)
    if code < 0:
        raise ValueError(f"unknown category {category!r}")
    return code


def top_creators(matcher: Matcher, category: str | None, exclude: np.ndarray | None = None) -> HotList:
    """``exclude``: creators left out, a bool per creator row (e.g. ``EngagementFlags.flagged``)."""
    tables = matcher.engine.tables
    gmv = np.expm1(_column(tables.creator, tables.creator_names, "c_log_gmv_30d"))
    mask = gmv > 0
    if matcher.planbook is not None:  # only creators who may join plans now
        mask &= matcher.planbook.admitted_creators
    if exclude is not None:
        mask &= ~np.asarray(exclude, dtype=bool)
    if category is not None:
        mask &= tables.arrays["creator_category_listed"][:, _category_code(matcher, category)] > 0
    rows = _top(gmv, mask, matcher.catalog.creator_followers.astype(np.float64))
    return HotList(HotListKind.TOP_CREATORS, rows, gmv[rows])


def top_products(matcher: Matcher, kind: HotListKind, category: str | None, new_hit_days: int) -> HotList:
    tables = matcher.engine.tables
    rates = public_rates(matcher)
    gmv = np.expm1(_column(tables.product, tables.product_names, "p_log_gmv_30d"))
    days = _column(tables.product, tables.product_names, "p_days_listed")
    mask = np.isfinite(rates)
    if matcher.planbook is not None:
        mask &= matcher.planbook.admitted_products
    if category is not None:
        mask &= tables.arrays["product_category"] == _category_code(matcher, category)
    if kind is HotListKind.NEW_HITS:
        mask &= (days <= new_hit_days) & (gmv > 0)
        rows = _top(gmv, mask, np.nan_to_num(rates))
    else:
        rows = _top(np.nan_to_num(rates), mask, gmv)
    return HotList(kind, rows, gmv[rows], rates[rows], days[rows])


def hot_list(
    matcher: Matcher,
    kind: HotListKind,
    category: str | None,
    new_hit_days: int,
    exclude_creators: np.ndarray | None = None,
) -> HotList:
    """The full list (up to :data:`LIST_DEPTH`); ``category`` must be one the tables know (or None);
    ``exclude_creators``: a bool per creator row, left out of ``top-creators`` (flagged for fake engagement)."""
    if kind is HotListKind.TOP_CREATORS:
        return top_creators(matcher, category, exclude_creators)
    return top_products(matcher, kind, category, new_hit_days)
