"""The reason catalogue: for each :class:`recsys.core.vocab.ReasonCode`, who reads it, the features whose
contributions are its evidence, when it may be shown (a threshold on the facts, so the claim is true and worth
saying) and the exact figures it quotes (its sentence: :mod:`models.matching.sentences`).

Figures come from the evidence arrays (:mod:`features.evidence`) and the pair's plan rate, never from inverting a
feature transform. In ``params`` counts are ints, money is in yuan rounded to the cent, and shares and rates are
rounded to 4 decimals (0.01 percentage point).

    code                       reader    evidence (feature prefixes)      shown when
    promoted_similar           both      x_category_*                     >= 1 promotion in the category, 90 days
    audience_match             both      x_overlap*                       published target, overlap >= 0.8
    price_fit                  both      x_price_vs_usual                 price within the creator's p25–p75
    commission_above_category  both      x_commission_*, p_best_rate, ..  rate >= 1.2 x the category median
    similar_creators_sold      both      x_cf_*, x_size_vs_typical_..     >= 2 same-tier creators sold it, 90 days
    sold_this_product_before   both      x_prev_*                         the pair promoted before the cutoff
    region_match               both      x_same_region                    same region
    product_selling_well       creator   p_ sales windows                 30-day GMV in the top half of products
    high_rating                creator   p_rating, p_service_score, m_..  rating >= 4.7
    strong_content             merchant  c_ engagement rates              completion rate in the top quarter
    reach                      merchant  c_log_followers, c_fan_tier, ..  always
    creator_sales              merchant  c_ sales windows                 any GMV in the last 30 days
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from features.tables import FeatureTables
from models.matching.sentences import Param, Params
from recsys.core.rounding import rounded
from recsys.core.schema import AGE_KEYS, GENDER_KEYS, SHARE_GROUPS
from recsys.core.vocab import Direction, FanTier, ReasonCode, find_sorted

AUDIENCE_MIN_OVERLAP = 0.8  # mean overlap of gender, age and city-tier shares with the product's published target
COMMISSION_MIN_RATIO = 1.2  # the pair's rate against its category's median rate
HIGH_RATING_MIN = 4.7  # product rating, out of 5
SELLING_WELL_TOP_SHARE = 0.5  # the product's 30-day GMV among all products: top half
STRONG_CONTENT_TOP_SHARE = 0.25  # the creator's completion rate among all creators: top quarter
SIMILAR_CREATORS_MIN = 2  # creators of the same fan tier who promoted the product in 90 days

_TIERS = tuple(FanTier)
_GROUP_END = np.cumsum([len(keys) for keys in SHARE_GROUPS.values()])  # gender | age | city tier columns


def _floats(values: np.ndarray) -> list[float]:
    """An array as Python floats (exactly ``float(a[i])`` each): figures are read once per page, not per item."""
    return list(np.asarray(values, dtype=np.float64).tolist())


def _ints(values: np.ndarray) -> list[int]:
    """An array as Python ints (exactly ``int(a[i])`` each)."""
    return [int(v) for v in np.asarray(values).tolist()]


def _money(values: np.ndarray) -> list[float]:
    """Yuan rounded to the cent, per row."""
    return rounded(values, 2)


def _share(values: np.ndarray) -> list[float]:
    """Shares and rates rounded to 4 decimals, per row."""
    return rounded(values, 4)


class PairFacts:
    """The evidence of aligned pairs (creator rows ``c``, product rows ``p``, plan ``rate`` per pair), gathered
    from the tables' arrays once per page."""

    def __init__(self, tables: FeatureTables, c: np.ndarray, p: np.ndarray, rate: np.ndarray) -> None:
        self.arrays = tables.arrays
        self.categories = tables.categories
        self.n_products = len(tables.products)
        self.c = np.asarray(c, dtype=np.int64)
        self.p = np.asarray(p, dtype=np.int64)
        self.rate = np.asarray(rate, dtype=np.float64)
        self._gathered: dict[str, np.ndarray] = {}  # array name -> its values at the pairs (one shape each)

    def _gather(self, name: str, rows: tuple[np.ndarray, ...]) -> np.ndarray:
        if name not in self._gathered:  # eligibility and figures read the same arrays: gather each once
            self._gathered[name] = self.arrays[name][rows]
        return self._gathered[name]

    def creator(self, name: str) -> np.ndarray:
        """A per-creator array at each pair's creator."""
        return self._gather(name, (self.c,))

    def product(self, name: str) -> np.ndarray:
        """A per-product array at each pair's product."""
        return self._gather(name, (self.p,))

    def in_category(self, name: str) -> np.ndarray:
        """A creator x category array at each pair's product category."""
        return self._gather(name, (self.c, self.category))

    def in_tier(self, name: str) -> np.ndarray:
        """A product x fan tier array at each pair's creator tier."""
        return self._gather(name, (self.p, self.fan_tier))

    @cached_property
    def category(self) -> np.ndarray:
        return self.product("product_category").astype(np.int64)

    @cached_property
    def fan_tier(self) -> np.ndarray:
        return self.creator("creator_fan_tier").astype(np.int64)

    @cached_property
    def audience(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(creator shares, target shares, overlap = mean over share groups of the summed smaller share)."""
        aud, tgt = self.creator("creator_audience"), self.product("product_target")
        common = np.minimum(aud, tgt)
        groups = np.split(common, _GROUP_END[:-1], axis=1)
        return aud, tgt, np.mean([g.sum(axis=1) for g in groups], axis=0)

    @cached_property
    def earlier(self) -> tuple[np.ndarray, np.ndarray]:
        """(position in the pair arrays, whether the pair promoted before the cutoff)."""
        wanted = self.c * self.n_products + self.p
        return find_sorted(self.arrays["pair_keys"], wanted)


# --- figures per code: the params of the pairs at ``rows`` (the page positions that show the code), in order --------


def _records(**columns: Sequence[Param]) -> list[Params]:
    """One params dict per row from aligned columns, keys in the order given."""
    keys = tuple(columns)
    return [dict(zip(keys, row, strict=True)) for row in zip(*columns.values(), strict=True)]


def _promoted_similar(f: PairFacts, rows: np.ndarray) -> list[Params]:
    categories = f.category[rows].tolist()
    promotions = _ints(f.in_category("creator_category_promotion_count")[rows])
    shares = _share(f.in_category("creator_category_gmv_share")[rows])
    gpms = _floats(f.in_category("creator_category_gpm")[rows])
    out: list[Params] = []
    for k, n, share, gpm in zip(categories, promotions, shares, gpms, strict=True):
        params: Params = {"category": f.categories[k], "promotions": n, "gmv_share": share}
        if math.isfinite(gpm):  # no views recorded: no GPM to quote
            params["gpm"] = round(gpm, 2)
        out.append(params)
    return out


def _audience_match(f: PairFacts, rows: np.ndarray) -> list[Params]:
    aud, tgt, overlap = f.audience
    aud, tgt, at = aud[rows], tgt[rows], np.arange(len(rows))
    g = np.argmax(tgt[:, : len(GENDER_KEYS)], axis=1)  # the product's main buyers: its largest target share per group
    a = len(GENDER_KEYS) + np.argmax(tgt[:, len(GENDER_KEYS) : _GROUP_END[1]], axis=1)
    return _records(
        overlap=_share(overlap[rows]),
        gender=[GENDER_KEYS[x] for x in g.tolist()],
        creator_gender_share=_share(aud[at, g]),
        target_gender_share=_share(tgt[at, g]),
        age=[AGE_KEYS[x - len(GENDER_KEYS)] for x in a.tolist()],
        creator_age_share=_share(aud[at, a]),
        target_age_share=_share(tgt[at, a]),
    )


def _price_fit(f: PairFacts, rows: np.ndarray) -> list[Params]:
    return _records(
        price=_money(f.product("product_price")[rows]),
        usual_low=_money(f.creator("creator_price_p25")[rows]),
        usual_high=_money(f.creator("creator_price_p75")[rows]),
    )


def _commission(f: PairFacts, rows: np.ndarray) -> list[Params]:
    k = f.category[rows]
    return _records(
        rate=_share(f.rate[rows]),
        category=[f.categories[x] for x in k.tolist()],
        category_median_rate=_share(f.arrays["category_median_rate"][k]),
    )


def _similar_creators(f: PairFacts, rows: np.ndarray) -> list[Params]:
    return _records(
        fan_tier=[_TIERS[t].value for t in f.fan_tier[rows].tolist()],
        creators=_ints(f.in_tier("product_tier_creators_90d")[rows]),
        gmv=_money(f.in_tier("product_tier_gmv_90d")[rows]),
    )


def _sold_before(f: PairFacts, rows: np.ndarray) -> list[Params]:
    pos = f.earlier[0][rows]
    return _records(
        promotions=_ints(f.arrays["pair_counts"][pos]),
        gmv=_money(f.arrays["pair_sales_gmv"][pos]),
        orders=_ints(f.arrays["pair_orders"][pos]),
    )


def _region(f: PairFacts, rows: np.ndarray) -> list[Params]:
    names = f.arrays["region_names"]
    return _records(region=[str(names[r]) for r in _ints(f.creator("creator_region")[rows])])


def _product_sales(f: PairFacts, rows: np.ndarray) -> list[Params]:
    return _records(
        gmv_30d=_money(f.product("product_gmv_30d")[rows]), orders_30d=_ints(f.product("product_orders_30d")[rows])
    )


def _creator_sales(f: PairFacts, rows: np.ndarray) -> list[Params]:
    return _records(
        gmv_30d=_money(f.creator("creator_gmv_30d")[rows]), orders_30d=_ints(f.creator("creator_orders_30d")[rows])
    )


def _rating(f: PairFacts, rows: np.ndarray) -> list[Params]:
    out: list[Params] = []
    shops = _floats(f.product("product_shop_good_review_rate")[rows])
    for rating, shop in zip(rounded(f.product("product_rating")[rows], 2), shops, strict=True):
        params: Params = {"rating": rating}
        if math.isfinite(shop):  # a merchant the tables no longer know: no shop figure to quote
            params["shop_good_review_rate"] = round(shop, 4)
        out.append(params)
    return out


def _content(f: PairFacts, rows: np.ndarray) -> list[Params]:
    return _records(
        completion_rate=_share(f.creator("creator_completion_rate")[rows]),
        top_share=_share(f.creator("creator_completion_top_share")[rows]),
    )


def _reach(f: PairFacts, rows: np.ndarray) -> list[Params]:
    return _records(
        followers=_ints(f.creator("creator_followers")[rows]), avg_views=_floats(f.creator("creator_avg_views")[rows])
    )


# --- eligibility per code -----------------------------------------------------------------------------------------


def _has_promoted_category(f: PairFacts) -> np.ndarray:
    return f.in_category("creator_category_promotion_count") >= 1


def _audience_overlaps(f: PairFacts) -> np.ndarray:
    return f.product("product_has_target") & (f.audience[2] >= AUDIENCE_MIN_OVERLAP)


def _price_in_usual_range(f: PairFacts) -> np.ndarray:
    price, low, high = f.product("product_price"), f.creator("creator_price_p25"), f.creator("creator_price_p75")
    with np.errstate(invalid="ignore"):
        return np.isfinite(low) & (low <= price) & (price <= high)


def _commission_above(f: PairFacts) -> np.ndarray:
    median = f.arrays["category_median_rate"][f.category].astype(np.float64)
    with np.errstate(invalid="ignore"):
        return (median > 0) & (f.rate >= COMMISSION_MIN_RATIO * median)


def _tier_sold(f: PairFacts) -> np.ndarray:
    return (f.in_tier("product_tier_creators_90d") >= SIMILAR_CREATORS_MIN) & (f.in_tier("product_tier_gmv_90d") > 0)


def _same_region(f: PairFacts) -> np.ndarray:
    region = f.creator("creator_region")
    return (region >= 0) & (region == f.product("product_region"))


def _product_sells(f: PairFacts) -> np.ndarray:
    return (f.product("product_gmv_30d") > 0) & (f.product("product_gmv_30d_top_share") <= SELLING_WELL_TOP_SHARE)


def _well_rated(f: PairFacts) -> np.ndarray:
    return f.product("product_rating") >= HIGH_RATING_MIN


def _top_content(f: PairFacts) -> np.ndarray:
    return f.creator("creator_completion_top_share") <= STRONG_CONTENT_TOP_SHARE


# --- the catalogue --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReasonSpec:
    """One reason type: who reads it (``directions``), the feature-name prefixes whose contributions are its
    evidence, the arrays it reads (a bundle without them never shows it), which pairs may show it and the figures
    of the pairs at positions ``rows`` (one params dict per row, in order: a page reads each array once per code)."""

    code: ReasonCode
    directions: tuple[Direction, ...]
    evidence: tuple[str, ...]
    arrays: tuple[str, ...]
    eligible: Callable[[PairFacts], np.ndarray]
    params: Callable[[PairFacts, np.ndarray], list[Params]]


BOTH = (Direction.CREATOR, Direction.PRODUCT)
CREATOR_SIDE = (Direction.CREATOR,)  # read by a creator about a product
MERCHANT_SIDE = (Direction.PRODUCT,)  # read by a merchant about a creator
_C_SALES = ("c_log_gmv_", "c_log_orders_", "c_promotions_", "c_conversion_", "c_gpm_", "c_has_history")
_P_SALES = ("p_log_gmv_", "p_log_orders_", "p_promotions_", "p_conversion_", "p_gpm_", "p_has_history", "p_n_creators")
_C_ENGAGEMENT = ("c_completion_rate", "c_like_rate", "c_comment_rate", "c_share_rate", "c_interaction_rate_30d")

SPECS: tuple[ReasonSpec, ...] = (
    ReasonSpec(
        ReasonCode.PROMOTED_SIMILAR,
        BOTH,
        ("x_category_",),
        ("creator_category_promotion_count", "creator_category_gpm", "creator_category_gmv_share"),
        _has_promoted_category,
        _promoted_similar,
    ),
    ReasonSpec(
        ReasonCode.AUDIENCE_MATCH,
        BOTH,
        ("x_overlap",),
        ("creator_audience", "product_target", "product_has_target"),
        _audience_overlaps,
        _audience_match,
    ),
    ReasonSpec(
        ReasonCode.PRICE_FIT,
        BOTH,
        ("x_price_vs_usual",),
        ("product_price", "creator_price_p25", "creator_price_p75"),
        _price_in_usual_range,
        _price_fit,
    ),
    ReasonSpec(
        ReasonCode.COMMISSION_ABOVE_CATEGORY,
        BOTH,
        ("x_commission_", "p_best_rate", "p_rate_vs_category"),
        ("category_median_rate",),
        _commission_above,
        _commission,
    ),
    ReasonSpec(
        ReasonCode.SIMILAR_CREATORS_SOLD,
        BOTH,
        ("x_cf_", "x_size_vs_typical_promoter"),
        ("product_tier_creators_90d", "product_tier_gmv_90d"),
        _tier_sold,
        _similar_creators,
    ),
    ReasonSpec(
        ReasonCode.SOLD_THIS_PRODUCT_BEFORE,
        BOTH,
        ("x_prev_",),
        ("pair_sales_gmv",),
        lambda f: f.earlier[1],
        _sold_before,
    ),
    ReasonSpec(ReasonCode.REGION_MATCH, BOTH, ("x_same_region",), ("region_names",), _same_region, _region),
    ReasonSpec(
        ReasonCode.PRODUCT_SELLING_WELL,
        CREATOR_SIDE,
        _P_SALES,
        ("product_gmv_30d", "product_orders_30d", "product_gmv_30d_top_share"),
        _product_sells,
        _product_sales,
    ),
    ReasonSpec(
        ReasonCode.HIGH_RATING,
        CREATOR_SIDE,
        ("p_rating", "p_service_score", "m_good_review_rate", "m_experience_score"),
        ("product_rating", "product_shop_good_review_rate"),
        _well_rated,
        _rating,
    ),
    ReasonSpec(
        ReasonCode.STRONG_CONTENT,
        MERCHANT_SIDE,
        _C_ENGAGEMENT,
        ("creator_completion_rate", "creator_completion_top_share"),
        _top_content,
        _content,
    ),
    ReasonSpec(
        ReasonCode.REACH,
        MERCHANT_SIDE,
        ("c_log_followers", "c_fan_tier", "c_log_avg_views"),
        ("creator_followers", "creator_avg_views"),
        lambda f: f.creator("creator_followers") > 0,
        _reach,
    ),
    ReasonSpec(
        ReasonCode.CREATOR_SALES,
        MERCHANT_SIDE,
        _C_SALES,
        ("creator_gmv_30d", "creator_orders_30d"),
        lambda f: f.creator("creator_gmv_30d") > 0,
        _creator_sales,
    ),
)
SPEC: dict[ReasonCode, ReasonSpec] = {s.code: s for s in SPECS}
