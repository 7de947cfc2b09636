"""Vocabularies: external id <-> row index (LensKit's ``Vocabulary`` idea) and the closed sets of the domain —
directions, promotion formats, plan types, fan tiers, key roles, reason codes — each defined once as a type."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import TypeVar

import numpy as np
import pandas as pd

T = TypeVar("T")


class Vocabulary:
    """An ordered set of ids; row ``i`` of every aligned array belongs to ``ids[i]``."""

    def __init__(self, ids: Iterable[str]) -> None:
        # object dtype on purpose: pandas 3 would infer its Arrow-backed "str", and ``_ids`` below would then be a
        # second set of 1M Python strings (~60 MB a worker at 1M products) next to the Index's own
        self._index = pd.Index(
            np.asarray(list(ids) if not isinstance(ids, np.ndarray | pd.Index) else ids, dtype=object), dtype=object
        )
        if not self._index.is_unique:
            raise ValueError("vocabulary ids must be unique")
        self._ids = self._index.to_numpy()  # plain object array: row -> id without pandas' per-call overhead

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, item: object) -> bool:
        return item in self._index

    @property
    def ids(self) -> np.ndarray:
        return self._ids

    @property
    def index(self) -> pd.Index:
        return self._index

    def row(self, item: str) -> int:
        """Row of one id; ``KeyError`` naming the id when unknown."""
        try:
            return int(self._index.get_loc(item))
        except KeyError:
            raise KeyError(item) from None

    def rows(self, items: Iterable[str]) -> np.ndarray:
        """Rows of many ids (-1 for unknown ones)."""
        if isinstance(items, (pd.Series, pd.Index)):  # no Python loop over Arrow-backed strings
            values = items.to_numpy(dtype=object)
        else:
            values = np.asarray(list(items), dtype=object)
        return self._index.get_indexer(values).astype(np.int64)

    def id(self, row: int) -> str:
        return str(self._ids[row])

    def code(self, item: str | None) -> int:
        """Row of one id, or -1 when it is unknown or None (for closed sets such as categories)."""
        return -1 if item is None or item not in self._index else int(self._index.get_loc(item))


def take_rows(array: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``array[rows]`` for a 2-D table and an index array: ``np.take`` copies each row whole, ~5x faster than fancy
    indexing for 1,000 rows of a row-major table; on a column-major one (tables written before they were saved
    row-major) ``np.take`` is ~100x slower than indexing, which it then uses."""
    return np.take(array, rows, axis=0) if array.flags.c_contiguous else array[rows]


def find_sorted(keys: np.ndarray, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions of ``wanted`` in the sorted array ``keys`` and whether each was found (position clipped to a valid
    index). The needles are searched in sorted order — each search then starts near the last one, about 2x faster
    than random order for 1,000 needles in millions of keys — and the positions are returned in the input order."""
    wanted = np.asarray(wanted)
    if len(keys) == 0:
        return np.zeros(len(wanted), np.int64), np.zeros(len(wanted), bool)
    order = np.argsort(wanted, kind="stable")
    pos = np.empty(len(wanted), np.int64)
    pos[order] = np.searchsorted(keys, wanted[order])
    pos = np.minimum(pos, len(keys) - 1)
    return pos, keys[pos] == wanted


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """``np.unique`` of a 1-D integer array by sorting. numpy 2.4's ``np.unique`` (values only) uses a hash table
    that is slow with many distinct values (numpy#31969): 8.6 s for 4.8M int64 against 0.1 s to sort them."""
    ordered = np.sort(np.asarray(values).ravel())
    if len(ordered) < 2:
        return ordered
    keep = np.empty(len(ordered), bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


def union_sorted(keys: np.ndarray, more: np.ndarray) -> np.ndarray:
    """The sorted unique union of the sorted unique ``keys`` and any ``more``: ``keys`` itself when nothing in
    ``more`` is new (a memory-mapped array stays mapped, not copied), else one insertion pass. ``np.union1d`` sorts
    everything again: 8 s for the 4.8M pair keys of the 1M-product benchmark (numpy 2.4), at every worker start."""
    more = sorted_unique(np.asarray(more, dtype=np.asarray(keys).dtype))
    new = more[~find_sorted(keys, more)[1]] if len(more) else more
    if len(new) == 0:
        return keys
    return np.insert(np.asarray(keys), np.searchsorted(keys, new), new)


# --- closed sets: each defined once, used by the schema, the models, the HTTP schemas and the CLI ----------------


class Direction(StrEnum):
    """Who is asking: ``CREATOR`` — a creator's query ranks products; ``PRODUCT`` — a product's query ranks
    creators. Values are the strings used in metric names, settings and files (``"creator_ndcg@10"``)."""

    CREATOR = "creator"
    PRODUCT = "product"

    def select(self, creator: T, product: T) -> T:
        """The value that belongs to this direction: ``creator`` for creator queries, ``product`` otherwise."""
        return creator if self is Direction.CREATOR else product

    def orient(self, query: np.ndarray, candidates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(creator rows, product rows) of pairs given as (query rows, candidate rows)."""
        return (query, candidates) if self is Direction.CREATOR else (candidates, query)

    def query_rows(self, c_rows: T, p_rows: T) -> T:
        """The query side's rows (or columns) of (creator, product) pairs."""
        return c_rows if self is Direction.CREATOR else p_rows

    def candidate_rows(self, c_rows: T, p_rows: T) -> T:
        """The candidate side's rows (or columns) of (creator, product) pairs."""
        return p_rows if self is Direction.CREATOR else c_rows

    @property
    def candidate_side(self) -> str:
        """What this direction ranks: ``"product"`` for creator queries, ``"creator"`` for product queries."""
        return self.select("product", "creator")


DIRECTIONS: tuple[Direction, ...] = tuple(Direction)


class PromotionFormat(StrEnum):
    """How a creator promotes a product; ``code`` is its integer feature value."""

    VIDEO = "video"
    LIVE = "live"
    POST = "post"

    @property
    def code(self) -> int:
        return _FORMAT_ORDER.index(self)


_FORMAT_ORDER: tuple[PromotionFormat, ...] = tuple(PromotionFormat)


class PlanType(StrEnum):
    """Promotion plan types: open (普通), exclusive (专属), targeted (定向), tiered (阶梯)."""

    OPEN = "open"
    EXCLUSIVE = "exclusive"
    TARGETED = "targeted"
    TIERED = "tiered"

    @property
    def listed(self) -> bool:
        """Plans that name their creators: only those creators may see or join them."""
        return self in (PlanType.EXCLUSIVE, PlanType.TARGETED)

    @property
    def code(self) -> int:
        return _PLAN_TYPE_ORDER.index(self)


_PLAN_TYPE_ORDER: tuple[PlanType, ...] = tuple(PlanType)


class CreatorSort(StrEnum):
    """How a merchant's creator list is ordered (``sort=``): ``fit`` — the matcher's order (fit to the product,
    net of capacity and exposure; the default); ``expected_gmv`` — calibrated expected GMV; ``roi`` — expected ROI
    including the sample."""

    FIT = "fit"
    EXPECTED_GMV = "expected_gmv"
    ROI = "roi"


class FanTier(StrEnum):
    """Fan tiers by follower count (``min_followers`` inclusive; the last tier is open-ended)."""

    NANO = "nano"  # < 5k
    MICRO = "micro"  # 5k–20k
    MID = "mid"  # 20k–100k
    MACRO = "macro"  # 100k–1M
    MEGA = "mega"  # >= 1M

    @property
    def min_followers(self) -> int:
        """The tier's inclusive lower bound of followers."""
        return _FAN_TIER_LOWER[self]

    @property
    def code(self) -> int:
        return _FAN_TIER_ORDER.index(self)

    @classmethod
    def of(cls, followers: float) -> FanTier:
        """The tier a follower count falls in."""
        return _FAN_TIER_ORDER[int(cls.codes(np.asarray([followers]))[0])]

    @staticmethod
    def codes(followers: np.ndarray) -> np.ndarray:
        """Tier code (0 = nano … 4 = mega) of each follower count."""
        return np.searchsorted([_FAN_TIER_LOWER[t] for t in _FAN_TIER_ORDER], followers, side="right") - 1


_FAN_TIER_ORDER: tuple[FanTier, ...] = tuple(FanTier)
_FAN_TIER_LOWER: dict[FanTier, int] = {
    FanTier.NANO: 0,
    FanTier.MICRO: 5_000,
    FanTier.MID: 20_000,
    FanTier.MACRO: 100_000,
    FanTier.MEGA: 1_000_000,
}


class AudienceGender(StrEnum):
    """Audience gender keys (a creator's ``aud_<key>`` share columns)."""

    FEMALE = "female"
    MALE = "male"


class AgeBand(StrEnum):
    """Audience age bands (``aud_<key>``), youngest first."""

    AGE_18_23 = "age_18_23"
    AGE_24_30 = "age_24_30"
    AGE_31_40 = "age_31_40"
    AGE_41_50 = "age_41_50"
    AGE_50_PLUS = "age_50_plus"


class CityTier(StrEnum):
    """Audience city tiers (``aud_<key>``), largest cities first."""

    TIER_1 = "tier_1"
    TIER_2 = "tier_2"
    TIER_3 = "tier_3"
    TIER_4_PLUS = "tier_4_plus"


class ListNotice(StrEnum):
    """Why a list page is empty when no admission rule explains it (the ``notice`` of list responses)."""

    PRODUCT_WITHOUT_PLAN = "product_without_plan"
    MERCHANT_WITHOUT_PRODUCTS = "merchant_without_products"
    END_OF_LIST = "end_of_list"
    NO_MATCH_FOR_FILTERS = "no_match_for_filters"
    NO_NEW_PARTNERS = "no_new_partners"


class Role(StrEnum):
    """Whom an API key acts for."""

    ADMIN = "admin"
    MERCHANT = "merchant"
    CREATOR = "creator"


class ReasonCode(StrEnum):
    """Why a pair is recommended: the closed set of reason types an item's reasons are drawn from. Each reason
    carries its code, the exact figures it quotes (``params``) and a sentence built from them; what each code
    quotes and when it may be shown: :mod:`models.matching.reasons`."""

    PROMOTED_SIMILAR = "promoted_similar"  # the creator's recent promotions in the product's category
    AUDIENCE_MATCH = "audience_match"  # the creator's followers against the product's target buyers
    PRICE_FIT = "price_fit"  # the price within the creator's usual price range
    COMMISSION_ABOVE_CATEGORY = "commission_above_category"  # the rate against the category's median rate
    SIMILAR_CREATORS_SOLD = "similar_creators_sold"  # creators of the same fan tier sold the product
    SOLD_THIS_PRODUCT_BEFORE = "sold_this_product_before"  # the pair's own earlier promotions
    REGION_MATCH = "region_match"  # creator and merchant in the same region
    PRODUCT_SELLING_WELL = "product_selling_well"  # the product's last 30 days of sales (creator-side)
    HIGH_RATING = "high_rating"  # the product's rating and its shop's good-review rate (creator-side)
    STRONG_CONTENT = "strong_content"  # the creator's completion rate among all creators (merchant-side)
    REACH = "reach"  # followers and views per post (merchant-side)
    CREATOR_SALES = "creator_sales"  # the creator's last 30 days of sales (merchant-side)
