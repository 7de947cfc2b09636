"""Reason sentences are built from the parameters alone, worded for whoever asked: the creator reading about a
product ("you ...") or the merchant reading about a creator."""

from __future__ import annotations

import pytest

from models.matching.sentences import SENTENCES, Params, age_label, sentence, top_pct, yuan
from recsys.core.vocab import Direction, ReasonCode

C, P = Direction.CREATOR, Direction.PRODUCT
AUDIENCE: Params = {
    "overlap": 0.8612,
    "gender": "female",
    "creator_gender_share": 0.78,
    "target_gender_share": 0.7,
    "age": "age_24_30",
    "creator_age_share": 0.41,
    "target_age_share": 0.45,
}


def test_every_code_has_a_sentence() -> None:
    assert set(SENTENCES) == set(ReasonCode)


@pytest.mark.parametrize(
    ("code", "params", "direction", "text"),
    [
        (
            ReasonCode.PROMOTED_SIMILAR,
            {"category": "beauty", "promotions": 3, "gmv_share": 0.4213, "gpm": 41.3},
            P,
            "promoted similar products: 3 in beauty in the last 90 days, avg GPM ¥41.30, 42% of their GMV",
        ),
        (
            ReasonCode.PROMOTED_SIMILAR,
            {"category": "beauty", "promotions": 1, "gmv_share": 0.0},  # no views: no GPM; no sales: no share
            C,
            "you promoted similar products: 1 in beauty in the last 90 days",
        ),
        (
            ReasonCode.AUDIENCE_MATCH,
            AUDIENCE,
            P,
            "followers match your buyers (86% overlap): 78% female vs your target 70%, 41% aged 24–30 vs 45%",
        ),
        (
            ReasonCode.AUDIENCE_MATCH,
            AUDIENCE,
            C,
            "your followers match its buyers (86% overlap): 78% female vs its target 70%, 41% aged 24–30 vs 45%",
        ),
        (
            ReasonCode.PRICE_FIT,
            {"price": 108.0, "usual_low": 89.5, "usual_high": 130.0},
            P,
            "your price ¥108 sits in the creator's usual ¥89.50–¥130",
        ),
        (
            ReasonCode.PRICE_FIT,
            {"price": 108.0, "usual_low": 89.5, "usual_high": 130.0},
            C,
            "price ¥108 sits in your usual ¥89.50–¥130",
        ),
        (
            ReasonCode.COMMISSION_ABOVE_CATEGORY,
            {"rate": 0.25, "category": "beauty", "category_median_rate": 0.15},
            C,
            "commission 25% is 1.7× the beauty median of 15%",
        ),
        (
            ReasonCode.SIMILAR_CREATORS_SOLD,
            {"fan_tier": "mid", "creators": 12, "gmv": 34_560.37},
            P,
            "12 mid-tier creators like this one promoted your product in the last 90 days, selling ¥34,560",
        ),
        (
            ReasonCode.SOLD_THIS_PRODUCT_BEFORE,
            {"promotions": 1, "gmv": 1_234.5, "orders": 1_095},
            C,
            "you promoted it once before: ¥1,234 GMV from 1,095 orders",
        ),
        (
            ReasonCode.SOLD_THIS_PRODUCT_BEFORE,
            {"promotions": 3, "gmv": 99.9, "orders": 1},
            P,
            "promoted your product 3 times before: ¥99.90 GMV from 1 order",
        ),
        (ReasonCode.REGION_MATCH, {"region": "east"}, C, "the shop is in your region (east)"),
        (ReasonCode.REGION_MATCH, {"region": "east"}, P, "based in your region (east)"),
        (
            ReasonCode.PRODUCT_SELLING_WELL,
            {"gmv_30d": 123_456.78, "orders_30d": 1_234},
            C,
            "sold ¥123,457 in the last 30 days (1,234 orders)",
        ),
        (
            ReasonCode.HIGH_RATING,
            {"rating": 4.8, "shop_good_review_rate": 0.9812},
            C,
            "rated 4.8/5, shop good-review rate 98%",
        ),
        (ReasonCode.HIGH_RATING, {"rating": 4.75}, C, "rated 4.75/5"),  # a shop the tables no longer know
        (
            ReasonCode.STRONG_CONTENT,
            {"completion_rate": 0.62, "top_share": 0.0931},
            P,
            "viewers watch 62% of their videos to the end, top 10% of creators",
        ),
        (
            ReasonCode.REACH,
            {"followers": 30_000_000, "avg_views": 1_234_567.8},
            P,
            "30,000,000 followers, 1,234,568 views per post on average",
        ),
        (ReasonCode.CREATOR_SALES, {"gmv_30d": 456.0, "orders_30d": 3}, P, "sold ¥456 in the last 30 days (3 orders)"),
    ],
)
def test_sentences_quote_their_parameters(code: ReasonCode, params: Params, direction: Direction, text: str) -> None:
    assert sentence(code, params, direction) == text


def test_money_shares_and_ages_read_as_users_expect() -> None:
    assert [yuan(v) for v in (108.0, 89.5, 9.99, 1_234.5, 30_000_000.0)] == [
        "¥108",
        "¥89.50",
        "¥9.99",
        "¥1,234",
        "¥30,000,000",
    ]
    # a top share is never overstated: 9.31% is "top 10%", exactly 10% too, the best of 1,000 "top 1%"
    assert [top_pct(s) for s in (0.0931, 0.1, 0.001)] == ["top 10%", "top 10%", "top 1%"]
    assert [age_label(k) for k in ("age_18_23", "age_50_plus")] == ["18–23", "50+"]
