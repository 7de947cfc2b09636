"""``matching.full_creators = "displace"``: a creator whose pending invitations fill its room stays in a creator list
(without a room penalty) only for an offer that beats its floor — the expected earnings of the weakest pending offer
within its room — and is sunk otherwise; pages still continue exactly, pools are not affected, and without floors
(the service) full creators are ranked as under ``"keep"``."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from models.bundle import load_bundle
from models.matching.assemble import assemble_matcher
from models.matching.market import UNLIMITED, CapacityPrices, MarketState, displacement_floor
from models.matching.matcher import Matcher
from models.matching.rerank import SUNK, MarketView
from recsys.core.config import MatchingSettings
from recsys.core.store import now_utc
from tests.models.matching.test_hide_full import _open_product


def test_the_floor_is_the_weakest_pending_offer_within_the_room() -> None:
    offers = np.array([5.0, 1.0, 3.0, 9.0])
    assert displacement_floor(offers, 1) == 9.0
    assert displacement_floor(offers, 2) == 5.0  # the creator takes 9 and 5: a new offer must beat 5
    assert displacement_floor(offers, 4) == 1.0
    assert displacement_floor(offers, 5) == -np.inf  # not full: any offer displaces nothing and is kept
    assert displacement_floor(offers, 0) == np.inf  # no room at all: nothing beats it


def _view(mode: str, floor: np.ndarray | None) -> MarketView:
    """Creators: 0 and 1 full (2 pending of room 2), 2 half full, 3 capacity not known."""
    settings = MatchingSettings(exposure_decay=0.0, new_creator_boost=0.0, capacity_room=1.0, full_creators=mode)  # type: ignore[misc]
    state = MarketState(
        np.empty(0, np.int64),
        2,
        np.array([2, 2, 2, UNLIMITED]),
        np.zeros(4, np.int64),
        np.full(2, np.inf),
        np.zeros(4, bool),
    ).with_pending(np.array([2.0, 2.0, 1.0, 5.0]), floor)
    return MarketView(state, CapacityPrices.zero(4, 2), np.zeros(4, np.int64), settings)


def test_a_full_creator_loses_its_room_penalty_above_its_floor_and_is_sunk_at_or_below() -> None:
    c, offer = np.arange(4), np.array([4.0, 3.0, 1.0, 0.0])
    floor = np.array([3.0, 3.0, -np.inf, -np.inf])
    # 0 beats its floor: room as if its pending offers were not there (2/2); 1 is at its floor: sunk
    assert _view("displace", floor).creator_multiplier(c, offer) == pytest.approx([1.0, SUNK, 0.5, 1.0])
    assert _view("keep", floor).creator_multiplier(c, offer) == pytest.approx([0.05, 0.05, 0.5, 1.0])
    assert _view("displace", None).creator_multiplier(c, offer) == pytest.approx([0.05, 0.05, 0.5, 1.0])
    assert _view("displace", floor).creator_multiplier(c) == pytest.approx([0.05, 0.05, 0.5, 1.0])  # pools
    # a strong retrieval affinity never lifts a sunk creator
    lifted = _view("displace", floor).creator_multiplier(c, offer, np.full(4, 5.0))
    assert lifted[1] == pytest.approx(SUNK) and (lifted[[0, 2, 3]] > 1.0).all()


@pytest.fixture(scope="module")
def matchers(fixture_bundle) -> tuple[Matcher, Matcher, Matcher, str, list[str]]:  # type: ignore[no-untyped-def]
    """(no pending, keep, displace, product, top 5 creators): the top 5 creators of a product's list each hold
    pending invitations filling their room; the floors of the first two are below this product's offer, those of
    the other three above it."""
    bundle = load_bundle(fixture_bundle.path)
    base = assemble_matcher(bundle.engine, fixture_bundle.market, fixture_bundle.settings, now_utc())
    displace = _in_mode(base, "displace", base.market)
    product = _open_product(base)
    top = base.recommend_creators(product, k=5)
    rows = np.array([r.creator_row for r in top], np.int64)
    state = base.market.state
    assert state.capacity_known[rows].all() and (state.creator_free[rows] > 0).all()
    n = len(base.engine.tables.creators)
    pending, floor = np.zeros(n), np.full(n, -np.inf)
    pending[rows] = state.creator_free[rows]
    offer = np.array([r.expected_commission for r in top])
    floor[rows] = np.where(np.arange(5) < 2, offer - 1.0, offer + 1.0)
    ids = [r.creator_id for r in top]
    return base, base.with_pending(pending), displace.with_pending(pending, floor), product, ids


def _in_mode(base: Matcher, mode: str, market: MarketView) -> Matcher:
    """``base`` with ``matching.full_creators = mode`` (the matcher's and its market view's settings), on ``market``."""
    matching = base.settings.matching.model_copy(update={"full_creators": mode})
    settings = base.settings.model_copy(update={"matching": matching})
    return Matcher(base.engine, base.catalog, base.planbook, settings, replace(market, settings=matching))


def test_full_creators_are_named_only_for_offers_that_beat_their_floor(matchers) -> None:  # type: ignore[no-untyped-def]
    base, keep, displace, product, top = matchers
    free = [r.creator_id for r in base.recommend_creators(product, k=60)]
    named = [r.creator_id for r in displace.recommend_creators(product, k=40)]
    # the two that displace a weaker pending offer keep their places; the three that would be declined sink
    assert named[:2] == top[:2] and not set(top[2:]) & set(named)
    assert named == [c for c in free if c not in top[2:]][:40]
    everyone = {r.creator_id: r for r in displace.recommend_creators(product, k=200)}
    assert set(top) <= set(everyone) and all(everyone[c].creator_capacity_left == 0 for c in top)  # sunk, not gone
    assert [r.creator_id for r in keep.recommend_creators(product, k=40)] != named


def test_pages_continue_exactly_and_pools_are_unchanged(matchers) -> None:  # type: ignore[no-untyped-def]
    _, keep, displace, product, top = matchers
    pages = displace.recommend_creators(product, k=15) + displace.recommend_creators(product, k=15, offset=15)
    assert [r.creator_id for r in pages] == [r.creator_id for r in displace.recommend_creators(product, k=30)]
    pool = [r.product_id for r in keep.recommend_products(top[2], k=10)]
    assert pool and [r.product_id for r in displace.recommend_products(top[2], k=10)] == pool


def test_without_floors_full_creators_rank_as_under_keep(matchers) -> None:  # type: ignore[no-untyped-def]
    base, keep, _, product, _ = matchers
    blind = _in_mode(base, "displace", keep.market)  # pending counts, no floors
    assert [r.creator_id for r in blind.recommend_creators(product, k=40)] == [
        r.creator_id for r in keep.recommend_creators(product, k=40)
    ]


def test_the_simulation_raises_each_creators_floor_as_its_invitations_arrive() -> None:
    from types import SimpleNamespace

    from recsys.app.experiments.synthetic.market.rounds import PendingFloors

    floors = PendingFloors(np.array([2, 0, 3]))  # rooms: 2, none, 3
    assert floors.floor.tolist() == [-np.inf, np.inf, -np.inf]
    offers = [(0, 5.0), (0, 1.0), (2, 4.0), (0, 3.0)]
    floors.add([SimpleNamespace(creator_row=c, expected_commission=e) for c, e in offers])  # type: ignore[misc]
    # creator 0 holds 5, 1, 3 with room 2: it would take 5 and 3, so a new offer must beat 3; creator 2 is not full
    assert floors.floor.tolist() == [3.0, np.inf, -np.inf]
