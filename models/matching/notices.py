"""Why a list page is empty, when no admission rule says why: the ``notice`` of the list responses.

A creator who is not admitted, or a product whose merchant is not, is explained by the plan rules' reason code
(:meth:`.matcher.Matcher.creator_refusal`, :meth:`~.matcher.Matcher.product_refusal`); otherwise, first match wins:
a product without a plan open now, a merchant without an admitted product, a page past the end of the list, filters
nothing passes (naming them), and no new partner left (existing ones are shown with ``include_existing``).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from models.matching.filters import CreatorFilters, ProductFilters
from models.matching.matcher import Matcher
from recsys.core.vocab import ListNotice

_NOT_FILTERS = ("format",)  # options that change predictions, not which items qualify


@dataclass(frozen=True)
class Notice:
    code: ListNotice
    message: str


def active_filters(filters: ProductFilters | CreatorFilters) -> list[str]:
    """``name=value`` of each filter set, in field order (excluded ids as their count)."""
    out = []
    for f in fields(filters):
        value = getattr(filters, f.name)
        if f.name in _NOT_FILTERS or value is None or value == ():
            continue
        out.append(f"{f.name}={len(value)} ids" if isinstance(value, tuple) else f"{f.name}={value}")
    return out


def _common(filters: ProductFilters | CreatorFilters, offset: int, items: str) -> Notice:
    if offset > 0:
        return Notice(ListNotice.END_OF_LIST, f"The list has no more {items}: it ended before position {offset}.")
    named = active_filters(filters)
    if named:
        return Notice(ListNotice.NO_MATCH_FOR_FILTERS, f"No {items} match the filters: {', '.join(named)}.")
    return Notice(
        ListNotice.NO_NEW_PARTNERS,
        f"No new {items} can be matched now (existing collaborations are listed with include_existing=true).",
    )


def pool_notice(filters: ProductFilters, offset: int) -> Notice:
    """An admitted creator's empty pool page."""
    return _common(filters, offset, "products")


def product_creators_notice(matcher: Matcher, product_id: str, filters: CreatorFilters, offset: int) -> Notice:
    """An admitted product's empty creator list page."""
    row = matcher.engine.tables.products.row(product_id)
    if not np.isfinite(matcher.candidates.best_rates()[row]):
        return Notice(ListNotice.PRODUCT_WITHOUT_PLAN, "The product has no promotion plan open now.")
    return _common(filters, offset, "creators")


def merchant_creators_notice(matcher: Matcher, merchant_id: str, filters: CreatorFilters, offset: int) -> Notice:
    """A known merchant's empty shop-level creator list page."""
    rows = matcher.catalog.merchant_products(merchant_id)
    if rows is not None and matcher.planbook is not None:
        rows = rows[matcher.planbook.admitted_products[rows]]
    if rows is None or not np.isfinite(matcher.candidates.best_rates()[rows]).any():
        return Notice(
            ListNotice.MERCHANT_WITHOUT_PRODUCTS, "The merchant has no admitted product with a plan open now."
        )
    return _common(filters, offset, "creators")
