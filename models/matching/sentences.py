"""Reason sentences: each built from a reason's parameters alone, worded for the side that asked — a creator
(``Direction.CREATOR``: "you promoted similar products ...") or a merchant reading about a creator
(``Direction.PRODUCT``: "promoted similar products ..."). Money reads in yuan (whole yuan from ¥1,000 up), shares as
whole percentages; the exact figures stay in the parameters."""

from __future__ import annotations

import math
from collections.abc import Callable

from recsys.core.vocab import Direction, ReasonCode

Param = int | float | str
Params = dict[str, Param]


def yuan(value: float) -> str:
    """¥ with thousands separators: whole yuan from ¥1,000 up or for whole amounts, else to the cent."""
    value = float(value)
    if abs(value) >= 1000 or value.is_integer():
        return f"¥{value:,.0f}"
    return f"¥{value:,.2f}"


def pct(value: float) -> str:
    return f"{100 * float(value):.0f}%"


def top_pct(share: float) -> str:
    """A top share as the smallest whole percentage it lies within ("top 10%" for 0.093): never overstated."""
    return f"top {max(1, math.ceil(round(100 * float(share), 6)))}%"


def age_label(key: str) -> str:
    """``age_24_30`` -> ``24–30``; ``age_50_plus`` -> ``50+``."""
    low, high = key.removeprefix("age_").split("_")
    return f"{low}+" if high == "plus" else f"{low}–{high}"


def times(n: int) -> str:
    return "once" if n == 1 else f"{n:,} times"


def orders(n: int) -> str:
    return "1 order" if n == 1 else f"{n:,} orders"


def _promoted_similar(x: Params, d: Direction) -> str:
    figures = [f"{x['promotions']} in {x['category']} in the last 90 days"]
    if "gpm" in x:
        figures.append(f"avg GPM {yuan(float(x['gpm']))}")
    if float(x["gmv_share"]) > 0:
        figures.append(f"{pct(float(x['gmv_share']))} of {d.select('your', 'their')} GMV")
    return f"{d.select('you promoted', 'promoted')} similar products: {', '.join(figures)}"


def _audience_match(x: Params, d: Direction) -> str:
    return (
        f"{d.select('your followers match its buyers', 'followers match your buyers')} "
        f"({pct(float(x['overlap']))} overlap): {pct(float(x['creator_gender_share']))} {x['gender']} vs "
        f"{d.select('its', 'your')} target {pct(float(x['target_gender_share']))}, "
        f"{pct(float(x['creator_age_share']))} aged {age_label(str(x['age']))} vs {pct(float(x['target_age_share']))}"
    )


def _price_fit(x: Params, d: Direction) -> str:
    usual = f"{yuan(float(x['usual_low']))}–{yuan(float(x['usual_high']))}"
    whose = d.select("your", "the creator's")
    return f"{d.select('price', 'your price')} {yuan(float(x['price']))} sits in {whose} usual {usual}"


def _commission(x: Params, d: Direction) -> str:
    rate, median = float(x["rate"]), float(x["category_median_rate"])
    return (
        f"{d.select('commission', 'your commission')} {pct(rate)} is {rate / median:.1f}× the {x['category']} "
        f"median of {pct(median)}"
    )


def _similar_creators(x: Params, d: Direction) -> str:
    who = d.select("creators like you promoted it", "creators like this one promoted your product")
    return f"{x['creators']} {x['fan_tier']}-tier {who} in the last 90 days, selling {yuan(float(x['gmv']))}"


def _sold_before(x: Params, d: Direction) -> str:
    n = times(int(x["promotions"]))
    return (
        f"{d.select(f'you promoted it {n}', f'promoted your product {n}')} before: {yuan(float(x['gmv']))} GMV "
        f"from {orders(int(x['orders']))}"
    )


def _region(x: Params, d: Direction) -> str:
    return f"{d.select('the shop is in your region', 'based in your region')} ({x['region']})"


def _sales(x: Params, d: Direction) -> str:
    return f"sold {yuan(float(x['gmv_30d']))} in the last 30 days ({orders(int(x['orders_30d']))})"


def _rating(x: Params, d: Direction) -> str:
    rating = f"rated {float(x['rating']):g}/5"
    if "shop_good_review_rate" not in x:
        return rating
    return f"{rating}, shop good-review rate {pct(float(x['shop_good_review_rate']))}"


def _content(x: Params, d: Direction) -> str:
    return (
        f"viewers watch {pct(float(x['completion_rate']))} of their videos to the end, "
        f"{top_pct(float(x['top_share']))} of creators"
    )


def _reach(x: Params, d: Direction) -> str:
    return f"{int(x['followers']):,} followers, {float(x['avg_views']):,.0f} views per post on average"


SENTENCES: dict[ReasonCode, Callable[[Params, Direction], str]] = {
    ReasonCode.PROMOTED_SIMILAR: _promoted_similar,
    ReasonCode.AUDIENCE_MATCH: _audience_match,
    ReasonCode.PRICE_FIT: _price_fit,
    ReasonCode.COMMISSION_ABOVE_CATEGORY: _commission,
    ReasonCode.SIMILAR_CREATORS_SOLD: _similar_creators,
    ReasonCode.SOLD_THIS_PRODUCT_BEFORE: _sold_before,
    ReasonCode.REGION_MATCH: _region,
    ReasonCode.PRODUCT_SELLING_WELL: _sales,
    ReasonCode.HIGH_RATING: _rating,
    ReasonCode.STRONG_CONTENT: _content,
    ReasonCode.REACH: _reach,
    ReasonCode.CREATOR_SALES: _sales,
}


def sentence(code: ReasonCode, params: Params, direction: Direction) -> str:
    """The sentence of a reason, from its parameters alone, worded for the side that asked (``direction``)."""
    return SENTENCES[code](params, direction)
