"""``matching.full_creators = "hide"``: creator lists leave out creators with no capacity left (after their pending
invitations), pages still continue exactly, and creator pools are not affected."""

from __future__ import annotations

import numpy as np
import pytest

from models.bundle import load_bundle
from models.matching.assemble import assemble_matcher
from models.matching.filters import has_room
from models.matching.matcher import Matcher
from recsys.core.store import now_utc


def test_has_room_keeps_creators_with_capacity_left_or_unknown_capacity() -> None:
    left = np.array([2.0, 0.0, 0.5, 0.0, -1.0])
    known = np.array([True, True, True, False, True])
    assert has_room(left, known).tolist() == [True, False, True, True, False]


@pytest.fixture(scope="module")
def matchers(fixture_bundle) -> tuple[Matcher, Matcher, list[str]]:  # type: ignore[no-untyped-def]
    """(off, on, full creator ids): the same market, the top 5 creators of a product's list filled with pending
    invitations (as many as their capacity left)."""
    bundle = load_bundle(fixture_bundle.path)
    base = assemble_matcher(bundle.engine, fixture_bundle.market, fixture_bundle.settings, now_utc())
    on_settings = base.settings.model_copy(
        update={"matching": base.settings.matching.model_copy(update={"full_creators": "hide"})}
    )
    on = Matcher(base.engine, base.catalog, base.planbook, on_settings, base.market)
    product = _open_product(base)
    top = base.recommend_creators(product, k=5)
    rows = np.array([r.creator_row for r in top], np.int64)
    state = base.market.state
    assert state.capacity_known[rows].all() and (state.creator_left[rows] > 0).all()
    pending = np.zeros(len(base.engine.tables.creators))
    pending[rows] = state.creator_left[rows]
    return base.with_pending(pending), on.with_pending(pending), [r.creator_id for r in top]


def _open_product(matcher: Matcher) -> str:
    """An admitted product with a long creator list."""
    for p in np.flatnonzero(matcher.planbook.admitted_products):  # type: ignore[union-attr]
        product = matcher.engine.tables.products.id(int(p))
        if len(matcher.recommend_creators(product, k=40)) == 40:
            return product
    raise AssertionError("the fixture has no product with 40 creators")


def test_a_product_list_names_full_creators_only_when_off(matchers) -> None:  # type: ignore[no-untyped-def]
    off, on, full = matchers
    product = _open_product(off)
    named_off = {r.creator_id: r for r in off.recommend_creators(product, k=200)}  # sunk, but named
    assert set(full) <= set(named_off) and all(named_off[c].creator_capacity_left == 0 for c in full)
    named_on = [r.creator_id for r in on.recommend_creators(product, k=40)]
    assert len(named_on) == 40 and not set(full) & set(named_on)
    assert all(r.creator_capacity_left is None or r.creator_capacity_left > 0 for r in on.recommend_creators(product))
    # the others keep their order: the filter removes candidates before the rerank blocks, nothing else changes
    kept = [c for c in named_off if c not in full]
    assert [c for c in named_on if c in set(kept)] == kept[: len([c for c in named_on if c in set(kept)])]


def test_pages_continue_exactly_with_full_creators_left_out(matchers) -> None:  # type: ignore[no-untyped-def]
    _, on, _ = matchers
    product = _open_product(on)
    pages = on.recommend_creators(product, k=15) + on.recommend_creators(product, k=15, offset=15)
    assert [r.creator_id for r in pages] == [r.creator_id for r in on.recommend_creators(product, k=30)]


def test_shop_lists_leave_full_creators_out_and_pools_are_unchanged(matchers) -> None:  # type: ignore[no-untyped-def]
    off, on, full = matchers
    merchant = str(off.catalog.product_merchant[off.engine.tables.products.row(_open_product(off))])
    shop_on = on.recommend_creators_for_merchant(merchant, k=50)
    assert shop_on and not set(full) & {r.creator_id for r in shop_on}
    pool = [r.product_id for r in off.recommend_products(full[0], k=10)]
    assert pool and [r.product_id for r in on.recommend_products(full[0], k=10)] == pool
