"""Every figure a reason quotes equals the stored value it names, recomputed here from the raw marketplace tables
(pandas, not the feature code): followers are the creators table's integer, sales are sums of the promotions
before the bundle's cutoff, prices and ratings are the products table's. And every sentence is its parameters."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from models.bundle import load_bundle
from models.matching.assemble import assemble_matcher
from models.matching.matcher import Matcher, Recommendation
from models.matching.sentences import Params, sentence
from recsys.core.store import now_utc
from recsys.core.vocab import Direction, FanTier, ReasonCode


class Raw:
    """The fixture marketplace's tables as of the bundle's cutoff."""

    def __init__(self, market, cutoff: pd.Timestamp) -> None:  # type: ignore[no-untyped-def]
        self.creators = market.creators.set_index("creator_id")
        self.products = market.products.set_index("product_id")
        self.merchants = market.merchants.set_index("merchant_id")
        promos = market.promotions[market.promotions["started_at"] < cutoff]
        self.promos = promos.assign(
            age=(cutoff - promos["started_at"]).dt.total_seconds() / 86400,
            category=self.products["category"].reindex(promos["product_id"]).to_numpy(),
            tier=[FanTier.of(f) for f in self.creators["followers"].reindex(promos["creator_id"])],
        )

    def sales(self, column: str, entity: str, days: int = 30) -> tuple[float, int]:
        rows = self.promos[(self.promos[column] == entity) & (self.promos["age"] <= days)]
        return round(float(rows["gmv"].sum()), 2), int(rows["orders"].sum())


def _check(raw: Raw, rec: Recommendation, code: ReasonCode, x: Params) -> None:
    creator, product = raw.creators.loc[rec.creator_id], raw.products.loc[rec.product_id]
    mine = raw.promos[raw.promos["creator_id"] == rec.creator_id]
    checks: dict[ReasonCode, Callable[[], None]] = {
        ReasonCode.REACH: lambda: _equal(x, followers=int(creator["followers"]), avg_views=float(creator["avg_views"])),
        ReasonCode.CREATOR_SALES: lambda: _equal(x, **_sales(raw.sales("creator_id", rec.creator_id))),
        ReasonCode.PRODUCT_SELLING_WELL: lambda: _equal(x, **_sales(raw.sales("product_id", rec.product_id))),
        ReasonCode.HIGH_RATING: lambda: _equal(
            x,
            rating=float(product["rating"]),
            shop_good_review_rate=round(float(raw.merchants.loc[product["merchant_id"], "good_review_rate"]), 4),
        ),
        ReasonCode.STRONG_CONTENT: lambda: _equal(
            x,
            completion_rate=float(creator["completion_rate"]),
            top_share=round(float((raw.creators["completion_rate"] >= creator["completion_rate"]).mean()), 4),
        ),
        ReasonCode.PRICE_FIT: lambda: _equal(
            x,
            price=float(product["price"]),
            usual_low=round(float(np.percentile(raw.products.loc[mine["product_id"], "price"], 25)), 2),
            usual_high=round(float(np.percentile(raw.products.loc[mine["product_id"], "price"], 75)), 2),
        ),
        ReasonCode.PROMOTED_SIMILAR: lambda: _promoted_similar(x, mine, str(product["category"])),
        ReasonCode.AUDIENCE_MATCH: lambda: _equal(
            x,
            creator_gender_share=float(creator[f"aud_{x['gender']}"]),
            target_gender_share=float(product[f"target_{x['gender']}"]),
            creator_age_share=float(creator[f"aud_{x['age']}"]),
            target_age_share=float(product[f"target_{x['age']}"]),
        ),
        ReasonCode.COMMISSION_ABOVE_CATEGORY: lambda: _equal(
            x, rate=round(rec.commission_rate, 4), category=str(product["category"])
        ),
        ReasonCode.SIMILAR_CREATORS_SOLD: lambda: _similar_creators(raw, x, rec, FanTier.of(creator["followers"])),
        ReasonCode.SOLD_THIS_PRODUCT_BEFORE: lambda: _sold_before(x, mine[mine["product_id"] == rec.product_id]),
        ReasonCode.REGION_MATCH: lambda: _same_region(x, creator["region"], raw.merchants.loc[product["merchant_id"]]),
    }
    checks[code]()


def _equal(x: Params, **expected: object) -> None:
    for name, value in expected.items():
        assert x[name] == value and type(x[name]) is type(value), (name, x[name], value)


def _sales(figures: tuple[float, int]) -> dict[str, object]:
    return {"gmv_30d": figures[0], "orders_30d": figures[1]}


def _promoted_similar(x: Params, mine: pd.DataFrame, category: str) -> None:
    recent = mine[(mine["age"] <= 90) & (mine["category"] == category)]
    _equal(x, category=category, promotions=len(recent))
    gpm = 1000 * recent["gmv"].sum() / recent["views"].sum()
    assert x["gpm"] == pytest.approx(gpm, abs=0.006)  # a ratio stored as float32, quoted to the cent


def _similar_creators(raw: Raw, x: Params, rec: Recommendation, tier: FanTier) -> None:
    rows = raw.promos[(raw.promos["product_id"] == rec.product_id) & (raw.promos["age"] <= 90)]
    rows = rows[rows["tier"] == tier]
    _equal(x, fan_tier=tier.value, creators=rows["creator_id"].nunique(), gmv=round(float(rows["gmv"].sum()), 2))


def _same_region(x: Params, creator_region: str, merchant: pd.Series) -> None:
    assert creator_region == merchant["region"]
    _equal(x, region=creator_region)


def _sold_before(x: Params, pair: pd.DataFrame) -> None:
    _equal(x, promotions=len(pair), gmv=round(float(pair["gmv"].sum()), 2), orders=int(pair["orders"].sum()))


@pytest.fixture(scope="module")
def matcher(fixture_bundle) -> Matcher:  # type: ignore[no-untyped-def]
    bundle = load_bundle(fixture_bundle.path)
    return assemble_matcher(bundle.engine, fixture_bundle.market, fixture_bundle.settings, now_utc())


@pytest.fixture(scope="module")
def raw(fixture_bundle, matcher: Matcher) -> Raw:  # type: ignore[no-untyped-def]
    return Raw(fixture_bundle.market, matcher.engine.tables.cutoff)


def _pages(matcher: Matcher) -> list[tuple[Direction, list[Recommendation]]]:
    tables, book = matcher.engine.tables, matcher.planbook
    assert book is not None
    creators = [tables.creators.id(int(r)) for r in np.flatnonzero(book.admitted_creators)[:12]]
    products = [tables.products.id(int(r)) for r in np.flatnonzero(book.admitted_products)[:12]]
    pages = [(Direction.CREATOR, matcher.recommend_products(c, k=20, include_existing=True)) for c in creators]
    pages += [(Direction.PRODUCT, matcher.recommend_creators(p, k=20, include_existing=True)) for p in products]
    return [(d, page) for d, page in pages if page]


def test_every_figure_equals_the_stored_value_and_every_sentence_its_figures(matcher: Matcher, raw: Raw) -> None:
    seen: set[ReasonCode] = set()
    for direction, page in _pages(matcher):
        for rec in page:
            for reason in rec.reasons:
                _check(raw, rec, reason.code, reason.params)
                assert reason.text == sentence(reason.code, reason.params, direction)
                assert reason.contribution > 0
                seen.add(reason.code)
    # the figures the issue names were exercised: exact followers, earlier collaborations, prices, sales
    assert {ReasonCode.REACH, ReasonCode.SOLD_THIS_PRODUCT_BEFORE, ReasonCode.PRODUCT_SELLING_WELL} <= seen
    assert len(seen) >= 8


def test_lists_show_reasons_for_their_reader_and_spread_the_leading_code(matcher: Matcher) -> None:
    merchant_only = {ReasonCode.REACH, ReasonCode.STRONG_CONTENT, ReasonCode.CREATOR_SALES}
    creator_only = {ReasonCode.PRODUCT_SELLING_WELL, ReasonCode.HIGH_RATING}
    for direction, page in _pages(matcher):
        assert not {r.code for rec in page for r in rec.reasons} & direction.select(merchant_only, creator_only)
        assert all(len(rec.reasons) <= 3 for rec in page)
        assert len({r.code for rec in page for r in rec.reasons}) >= 4  # the target, per list of 20
        cap, led = int(np.ceil(0.25 * len(page))), dict.fromkeys(ReasonCode, 0)
        for rec in page:
            if not rec.reasons:
                continue
            if led[rec.reasons[0].code] >= cap:  # a code leads past its cap only when no shown code is under it
                assert all(led[r.code] >= cap for r in rec.reasons)
            led[rec.reasons[0].code] += 1
