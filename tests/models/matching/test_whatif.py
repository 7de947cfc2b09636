"""Commission what-if in the matching layer: the places it predicts are the places the matcher gives under the
changed plans (whole pools compared), and the summary's figures are hand-checked."""

from __future__ import annotations

import numpy as np
import pytest

from models.bundle import load_bundle
from models.matching.assemble import assemble_matcher
from models.matching.matcher import Matcher
from models.matching.whatif import NOT_IN_POOL, PairMoney, change_label, summarise, what_if, with_plans
from recsys.core.store import now_utc


@pytest.fixture(scope="module")
def matcher(fixture_bundle):  # type: ignore[no-untyped-def]
    bundle = load_bundle(fixture_bundle.path)
    return assemble_matcher(bundle.engine, fixture_bundle.market, fixture_bundle.settings, now_utc())


def _place(matcher: Matcher, creator_id: str, product_id: str) -> int:
    pool = matcher.recommend_products(creator_id, k=matcher.settings.retrieval.candidates)
    ids = [r.product_id for r in pool]
    return ids.index(product_id) + 1 if product_id in ids else NOT_IN_POOL


def test_predicted_places_are_the_places_under_the_changed_plan(matcher, fixture_bundle) -> None:  # type: ignore[no-untyped-def]
    plans = fixture_bundle.market.plans
    admitted = np.flatnonzero(matcher.planbook.admitted_creators)
    creator = next(
        matcher.engine.tables.creators.id(int(c))
        for c in admitted
        if matcher.recommend_products(matcher.engine.tables.creators.id(int(c)), 5)
    )
    item = next(r for r in matcher.recommend_products(creator, 30) if r.plan_type == "open")
    changed = plans[plans["plan_id"] == item.plan_id].copy()
    changed["commission_rate"] = changed["commission_rate"] + 0.03
    proposed = with_plans(matcher, changed)
    creators = [r.creator_id for r in matcher.recommend_creators(item.product_id, 12)]
    rows = [matcher.engine.tables.creators.row(c) for c in creators]
    result = what_if(matcher, proposed, item.product_row, rows)

    today = [_place(matcher, c, item.product_id) for c in creators]
    after = [_place(proposed, c, item.product_id) for c in creators]
    assert result.places[:, 0].tolist() == today  # and the live matcher's plans are untouched
    assert result.places[:, 1].tolist() == after
    assert any(p != NOT_IN_POOL for p in after) and today != after
    assert (result.proposed.rate >= result.today.rate + 0.03 - 1e-9).all()
    assert (result.proposed.commission > result.today.commission).all()


def test_the_summary_counts_places_and_sums_money() -> None:
    places = np.array([[3, 1], [NOT_IN_POOL, 5], [7, 9], [NOT_IN_POOL, NOT_IN_POOL]])
    rate = np.full(4, 0.1)
    today = PairMoney(rate, np.array([100.0, 50.0, 0.0, 50.0]), np.ones(4), np.array([10.0, 5.0, 0.0, 5.0]))
    proposed = PairMoney(rate + 0.03, np.array([120.0, 55.0, 0.0, 55.0]), np.ones(4), np.array([15.6, 7.15, 0, 3.25]))
    s = summarise(places, today, proposed, "+3 pt")
    assert (s.creators, s.in_pool_today, s.in_pool_proposed) == (4, 2, 3)
    assert (s.improves, s.worsens, s.unchanged) == (2, 1, 1)  # 3→1 and entering; 7→9; absent both ways
    assert (s.median_rank_today, s.median_rank_proposed) == (5.0, 5.0)  # of (3, 7) and of (1, 5, 9)
    assert (s.gmv_today, s.gmv_proposed, s.gmv_change_pct) == (200.0, 230.0, 15.0)
    assert (s.cost_today, s.cost_proposed, s.cost_change_pct) == (20.0, 26.0, 30.0)
    assert s.text == "+3 pt: median rank 5 → 5 in 3 creators' pools; expected GMV +15%, cost +30%"


def test_an_empty_examination_says_so() -> None:
    empty = PairMoney(*[np.empty(0)] * 4)
    s = summarise(np.empty((0, 2), np.int64), empty, empty, "+1 pt")
    assert s.median_rank_today is None and s.gmv_change_pct is None
    assert s.text == "+1 pt: median rank none → none in 0 creators' pools; expected GMV n/a, cost n/a"


@pytest.mark.parametrize(
    ("today", "proposed", "tiers", "label"),
    [
        (0.10, 0.13, False, "+3 pt"),
        (0.10, 0.125, False, "+2.5 pt"),
        (0.12, 0.10, False, "-2 pt"),
        (0.10, 0.10, True, "new tiers"),
        (0.10, 0.12, True, "+2 pt and new tiers"),
    ],
)
def test_the_change_label(today: float, proposed: float, tiers: bool, label: str) -> None:
    assert change_label(today, proposed, tiers) == label
