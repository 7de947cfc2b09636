"""The matcher with plan rules: full, eligible, explained lists; no leaked listed plans; filtered lists stay full."""

from __future__ import annotations

import numpy as np
import pytest

from models.bundle import load_bundle
from models.matching.assemble import assemble_matcher
from models.matching.matcher import CreatorFilters, Matcher, ProductFilters, UnknownEntity
from recsys.core.store import now_utc
from recsys.core.vocab import Direction


@pytest.fixture(scope="module")
def matcher(fixture_bundle):  # type: ignore[no-untyped-def]
    bundle = load_bundle(fixture_bundle.path)
    return assemble_matcher(bundle.engine, fixture_bundle.market, fixture_bundle.settings, now_utc())


def _admitted_creators(matcher: Matcher) -> list[str]:
    rows = np.flatnonzero(matcher.planbook.admitted_creators)  # type: ignore[union-attr]
    return [matcher.engine.tables.creators.id(int(r)) for r in rows]


def test_a_creator_pool_is_full_eligible_and_explained(matcher: Matcher) -> None:
    creator = _admitted_creators(matcher)[0]
    recs = matcher.recommend_products(creator, k=15)
    assert len(recs) == 15
    assert all(r.eligible and r.plan_id is not None and r.commission_rate > 0 for r in recs)
    assert all(r.reasons and all(x.contribution > 0 for x in r.reasons) for r in recs)
    assert all(0 <= r.fit_score <= 1 and 0 <= r.distribution_weight <= 1 for r in recs)
    scores = [r.score for r in recs]
    assert scores == sorted(scores, reverse=True)
    again = matcher.recommend_products(creator, k=15)
    assert [r.product_id for r in again] == [r.product_id for r in recs]  # deterministic


def test_pages_continue_without_overlap(matcher: Matcher) -> None:
    creator = _admitted_creators(matcher)[1]
    first = matcher.recommend_products(creator, k=10)
    second = matcher.recommend_products(creator, k=10, offset=10)
    both = matcher.recommend_products(creator, k=20)
    assert [r.product_id for r in first + second] == [r.product_id for r in both]


def test_a_category_filter_keeps_the_list_full(matcher: Matcher) -> None:
    creator = _admitted_creators(matcher)[2]
    category = "beauty"
    in_category = int((matcher.catalog.product_category == category).sum())
    recs = matcher.recommend_products(creator, k=10, filters=ProductFilters(category=category))
    assert in_category >= 10 and len(recs) == 10
    rows = [matcher.engine.tables.products.row(r.product_id) for r in recs]
    assert set(matcher.catalog.product_category[rows]) == {category}


def test_min_commission_filter_holds(matcher: Matcher) -> None:
    recs = matcher.recommend_products(_admitted_creators(matcher)[3], k=10, filters=ProductFilters(min_commission=0.2))
    assert recs and all(r.commission_rate >= 0.2 for r in recs)


def test_no_listed_plan_reaches_an_unlisted_creator_and_no_unadmitted_merchant_reaches_anyone(
    matcher: Matcher, fixture_bundle
) -> None:  # type: ignore[no-untyped-def]
    plans = fixture_bundle.market.plans
    listed = plans[plans["plan_type"].isin(["exclusive", "targeted"])]
    listed_for = {pid: set(ids) for pid, ids in zip(listed["plan_id"], listed["creator_ids"], strict=True)}
    only_listed = set(
        plans.groupby("product_id")["plan_type"]
        .agg(lambda t: set(t) <= {"exclusive", "targeted"})
        .loc[lambda s: s]
        .index
    )
    admitted = matcher.planbook.admitted_products  # type: ignore[union-attr]
    blocked = {matcher.engine.tables.products.id(int(r)) for r in np.flatnonzero(~admitted)}
    assert blocked and only_listed  # the fixture exercises both rules
    rng = np.random.default_rng(0)
    creators = matcher.engine.tables.creators.ids
    checked = 0
    for creator in rng.choice(creators, size=60, replace=False):
        for rec in matcher.recommend_products(str(creator), k=30):
            checked += 1
            assert rec.product_id not in blocked
            if rec.plan_id in listed_for:
                assert creator in listed_for[rec.plan_id]
            if rec.product_id in only_listed:
                assert rec.plan_id in listed_for and creator in listed_for[rec.plan_id]
    assert checked > 500


def _open_product(matcher: Matcher) -> str:
    """A product that many creators may join (an active open plan without requirements)."""
    for row in np.flatnonzero(matcher.planbook.admitted_products):  # type: ignore[union-attr]
        if matcher.planbook.eligible_creators_mask(int(row)).sum() > 100:  # type: ignore[union-attr]
            return matcher.engine.tables.products.id(int(row))
    raise AssertionError("fixture has no open product")


def test_creators_for_a_product_respect_filters_and_admission(matcher: Matcher) -> None:
    product = _open_product(matcher)
    recs = matcher.recommend_creators(product, k=10)
    assert len(recs) == 10
    admitted = matcher.planbook.admitted_creators  # type: ignore[union-attr]
    assert all(admitted[matcher.engine.tables.creators.row(r.creator_id)] for r in recs)
    assert all(r.predicted_gmv >= 0 and (r.merchant_roi is None or r.merchant_roi > 0) for r in recs)
    micro = matcher.recommend_creators(product, k=5, filters=CreatorFilters(fan_tier="micro"))
    followers = [matcher.catalog.creator_followers[matcher.engine.tables.creators.row(r.creator_id)] for r in micro]
    assert micro and all(5_000 <= f < 20_000 for f in followers)


def test_merchant_level_lists_each_creator_once(matcher: Matcher) -> None:
    row = matcher.engine.tables.products.row(_open_product(matcher))
    merchant = str(matcher.catalog.product_merchant[row])
    recs = matcher.recommend_creators_for_merchant(merchant, k=12)
    assert 0 < len(recs) <= 12
    assert len({r.creator_id for r in recs}) == len(recs)
    assert all(
        matcher.catalog.product_merchant[matcher.engine.tables.products.row(r.product_id)] == merchant for r in recs
    )


def test_explicit_pairs_are_scored_with_refusals_explained(matcher: Matcher) -> None:
    creators = matcher.engine.tables.creators.ids[:5].tolist()
    products = matcher.engine.tables.products.ids[:5].tolist()
    recs = matcher.score_pairs(creators, products)
    assert [r.creator_id for r in recs] == creators
    assert all((r.eligible and r.refusal_reason is None) or (not r.eligible and r.refusal_reason) for r in recs)


def test_unknown_ids_and_bad_filters_are_clear_errors(matcher: Matcher) -> None:
    with pytest.raises(UnknownEntity, match="unknown creator 'nobody'"):
        matcher.recommend_products("nobody")
    with pytest.raises(UnknownEntity, match="unknown product"):
        matcher.recommend_creators("nothing")
    with pytest.raises(UnknownEntity, match="unknown merchant"):
        matcher.recommend_creators_for_merchant("no-shop")
    with pytest.raises(ValueError, match="fan_tier must be one of"):
        matcher.recommend_creators(_open_product(matcher), filters=CreatorFilters(fan_tier="huge"))


def test_selective_products_get_the_best_eligible_creators_by_retrieval_score(matcher: Matcher) -> None:
    finder, book, retriever = matcher.candidates, matcher.planbook, matcher.engine.retriever
    assert book is not None
    products = np.flatnonzero(book.admitted_products)
    selective = [int(p) for p in products if finder._selective(Direction.PRODUCT, int(p))]
    assert selective, "the fixture marketplace has no product most creators cannot join"
    every = np.arange(len(matcher.engine.tables.creators))
    for p in selective[:10]:
        found, _ = finder.find_resolved(Direction.PRODUCT, p, 50)
        eligible = every[book.creators_for_product(p, every).eligible]
        scores = retriever.scores(Direction.PRODUCT, p, eligible)
        best = eligible[np.lexsort((eligible, -scores))][: len(found)]
        assert len(found) == min(50, len(eligible))
        assert set(found.tolist()) == set(best.tolist())


def test_pages_of_a_1000_item_list_hold_each_item_once(matcher: Matcher) -> None:
    retrieval = matcher.settings.retrieval.model_copy(update={"candidates": 1200})
    settings = matcher.settings.model_copy(update={"retrieval": retrieval})
    # without plan rules every product is joinable: a creator's pool is the whole catalogue of 1,200
    unruled = Matcher(matcher.engine, matcher.catalog, None, settings, matcher.market)
    creator = _admitted_creators(matcher)[0]
    pages = [unruled.recommend_products(creator, 90, offset=o, include_existing=True) for o in range(0, 1260, 90)]
    ids = [r.product_id for page in pages for r in page]
    assert len(ids) == 1200 and len(set(ids)) == 1200
    assert all(len(page) == 90 for page in pages[:-1])
    # one page of 450 across three rerank blocks is the same list
    assert ids[:450] == [r.product_id for r in unruled.recommend_products(creator, 450, include_existing=True)]


def test_a_bundle_without_the_refund_array_gets_the_same_money_figures(matcher: Matcher) -> None:
    """Bundles written before ``product_refund_rate_90d`` was kept apart read the refund rate from the product
    table's column: same commissions either way."""
    from dataclasses import replace

    tables = matcher.engine.tables
    older = replace(tables, arrays={k: v for k, v in tables.arrays.items() if k != "product_refund_rate_90d"})
    engine = replace(matcher.engine, tables=older)
    before = Matcher(engine, matcher.catalog, matcher.planbook, matcher.settings, matcher.market)
    creator = _admitted_creators(matcher)[4]
    now, then = matcher.recommend_products(creator, k=10), before.recommend_products(creator, k=10)
    assert [(r.product_id, r.expected_commission) for r in now] == [(r.product_id, r.expected_commission) for r in then]
    refund = tables.product[:, tables.product_names.index("p_refund_rate_90d")]
    assert np.isnan(refund).any() and np.isfinite(refund).any()  # the fill for products without orders is exercised


def test_another_planbook_shares_what_does_not_read_the_rules_and_answers_as_a_fresh_matcher(
    matcher: Matcher,
) -> None:
    from datetime import timedelta

    book = matcher.planbook
    assert book is not None
    later = book.at(book.now + timedelta(days=400))  # another time (this fixture's plans have no end dates)
    moved = matcher.with_planbook(later)
    assert moved.explainer is matcher.explainer and moved.scorer is matcher.scorer
    assert moved.outcomes.sample_cost is matcher.outcomes.sample_cost and moved.outcomes.resolver is moved.resolver
    assert moved.resolver.planbook is later and moved.candidates.planbook is later and matcher.planbook is book
    fresh = Matcher(matcher.engine, matcher.catalog, later, matcher.settings, matcher.market)
    lists = 0
    for creator in _admitted_creators(matcher)[:3]:
        got = [(r.product_id, r.plan_id, r.expected_commission) for r in moved.recommend_products(creator, k=10)]
        want = [(r.product_id, r.plan_id, r.expected_commission) for r in fresh.recommend_products(creator, k=10)]
        assert got == want
        lists += bool(got)
    assert lists  # not empty lists compared
    product = _open_product(matcher)
    assert [r.creator_id for r in moved.recommend_creators(product, k=10)] == [
        r.creator_id for r in fresh.recommend_creators(product, k=10)
    ]


def test_another_market_shares_all_but_the_money_stage_and_answers_as_a_fresh_matcher(matcher: Matcher) -> None:
    from dataclasses import replace

    pending = np.zeros(len(matcher.engine.tables.creators))
    pending[: len(pending) // 2] = 3.0  # half the creators hold room for open invitations: other capacities
    market = replace(matcher.market, state=matcher.market.state.with_pending(pending))
    moved = matcher.with_market(market)
    assert moved.explainer is matcher.explainer and moved.candidates is matcher.candidates
    assert moved.outcomes is not matcher.outcomes and moved.outcomes.existing == market.state.existing
    fresh = Matcher(matcher.engine, matcher.catalog, matcher.planbook, matcher.settings, market)
    np.testing.assert_array_equal(moved.outcomes.sample_cost, fresh.outcomes.sample_cost)
    for creator in _admitted_creators(matcher)[:3]:
        got = [(r.product_id, r.expected_commission, r.score) for r in moved.recommend_products(creator, k=10)]
        assert got and got == [
            (r.product_id, r.expected_commission, r.score) for r in fresh.recommend_products(creator, k=10)
        ]
    product = _open_product(matcher)
    got_creators = [(r.creator_id, r.score) for r in moved.recommend_creators(product, k=10)]
    assert got_creators == [(r.creator_id, r.score) for r in fresh.recommend_creators(product, k=10)]
