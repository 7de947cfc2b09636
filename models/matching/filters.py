"""List filters: what each one keeps, as a mask over the bundle's rows, so that filters restrict the candidate
search instead of thinning a truncated list.

Every figure a filter compares is a stored value kept beside the feature tables (``features/evidence.py``,
``features/tables.py``), never a model feature undone: followers and 30-day GMV from the evidence arrays, audience
shares from ``creator_audience`` (the creators' ``aud_<key>`` columns), a product's price from ``product_price``,
engagement from the creators' stored like, comment and share rates. A filter's mask is cached per value when the
value comes from a closed set (a fan tier, an age band); ranges and exclusions are computed per request, O(rows).
``min_commission`` depends on the creator's plans and is applied with the plan resolution
(:meth:`models.matching.candidates.CandidateFinder.find_paying`), not here.

:func:`has_room` is the one filter that follows the market rather than the catalogue (``matching.full_creators =
"hide"``): it
changes with every invitation, so it is applied to the candidates found (O(candidates)), before the rerank blocks,
never cached and never a search mask.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from features.tables import FeatureTables
from models.matching.catalog import Catalog
from recsys.core.schema import AUDIENCE_KEYS, SHARE_GROUPS
from recsys.core.vocab import AgeBand, AudienceGender, CityTier, FanTier, PromotionFormat, Vocabulary

SHARE_TOLERANCE = 1e-6  # audience shares are stored as float32: 0.7 reads 0.69999999
DEFAULT_GENDER_SHARE = 0.5  # `audience_gender` without a share: the gender is at least half the audience
MAX_EXCLUDED = 200  # ids one request may leave out
ENGAGEMENT_COLUMNS = ("c_like_rate", "c_comment_rate", "c_share_rate")


@dataclass(frozen=True)
class ProductFilters:
    category: str | None = None
    min_commission: float | None = None  # the effective plan's rate for this creator, at least (a tier's rate)
    format: PromotionFormat | None = None  # promotion format the creator plans (predictions depend on it)
    price_min: float | None = None  # yuan, inclusive
    price_max: float | None = None
    exclude: tuple[str, ...] = ()  # product ids left out


@dataclass(frozen=True)
class CreatorFilters:
    fan_tier: FanTier | None = None
    region: str | None = None
    category: str | None = None  # a content category the creator lists
    format: PromotionFormat | None = None
    followers_min: int | None = None  # inclusive
    followers_max: int | None = None
    audience_gender: AudienceGender | None = None  # this gender is at least `audience_gender_min` of the audience
    audience_gender_min: float | None = None  # share 0–1 (default DEFAULT_GENDER_SHARE)
    audience_age: AgeBand | None = None  # the audience's largest age band
    audience_city_tier: CityTier | None = None  # the audience's largest city tier
    gmv_30d_min: float | None = None  # the creator's GMV over the last 30 days of the data, yuan
    engagement_min: float | None = None  # (likes + comments + shares) per view
    exclude: tuple[str, ...] = ()  # creator ids left out


# --- masks from arrays (hand-checked in tests/models/matching/test_filters.py) -----------------------------------


def range_mask(values: np.ndarray, low: float | None, high: float | None) -> np.ndarray | None:
    """``low <= value <= high`` (either bound optional; NaN never passes); None without bounds."""
    if low is None and high is None:
        return None
    values = np.asarray(values, dtype=np.float64)
    mask = np.isfinite(values)
    if low is not None:
        mask &= values >= low
    if high is not None:
        mask &= values <= high
    return mask


def excluded_mask(vocab: Vocabulary, ids: Iterable[str]) -> np.ndarray | None:
    """False for the rows of ``ids`` (ids the vocabulary does not know have no row to leave out); None without ids."""
    wanted = sorted(set(ids))
    if not wanted:  # the usual request: no lookup at all (an empty one through the id index costs ~0.1 ms)
        return None
    rows = vocab.rows(wanted)
    rows = rows[rows >= 0]
    if len(rows) == 0:
        return None
    mask = np.ones(len(vocab), bool)
    mask[rows] = False
    return mask


def has_room(left: np.ndarray, known: np.ndarray) -> np.ndarray:
    """True for creators a creator list may still name under ``matching.full_creators = "hide"``: capacity left
    (after the room their unanswered invitations hold, :attr:`.market.MarketState.creator_left`) above 0, or capacity
    not known (no market). ``left`` and ``known`` are aligned per candidate."""
    return np.asarray(~np.asarray(known, bool) | (np.asarray(left, dtype=np.float64) > 0))


def _group(audience: np.ndarray, group: str) -> np.ndarray:
    keys = SHARE_GROUPS[group]
    start = AUDIENCE_KEYS.index(keys[0])
    return np.asarray(audience[:, start : start + len(keys)], dtype=np.float64)


def share_at_least(audience: np.ndarray, gender: AudienceGender, share: float) -> np.ndarray:
    """Rows whose audience is at least ``share`` of ``gender``; ``audience`` (n, len(AUDIENCE_KEYS))."""
    column = _group(audience, "gender")[:, SHARE_GROUPS["gender"].index(gender.value)]
    return np.asarray(column >= share - SHARE_TOLERANCE)


def dominant_is(audience: np.ndarray, group: str, key: str) -> np.ndarray:
    """Rows whose largest share in ``group`` ("age", "city_tier") is ``key`` (a tie goes to the earlier key)."""
    shares = _group(audience, group)
    known = np.isfinite(shares).all(axis=1)
    return np.asarray(known & (np.argmax(np.nan_to_num(shares, nan=-1.0), axis=1) == SHARE_GROUPS[group].index(key)))


def engagement_rates(tables: FeatureTables) -> np.ndarray:
    """Per creator row: (likes + comments + shares) per view, from the stored rates."""
    cols = [tables.creator_names.index(name) for name in ENGAGEMENT_COLUMNS]
    return np.asarray(tables.creator[:, cols].astype(np.float64).sum(axis=1))


def _all(parts: list[np.ndarray | None]) -> np.ndarray | None:
    kept = [p for p in parts if p is not None]
    if not kept:
        return None
    mask = kept[0].copy()
    for part in kept[1:]:
        mask &= part
    return mask


class FilterMasks:
    """The masks of :class:`ProductFilters` / :class:`CreatorFilters` over a bundle's rows (None: no filter)."""

    def __init__(self, tables: FeatureTables, catalog: Catalog) -> None:
        self.tables = tables
        self.catalog = catalog
        self._cache: dict[tuple[str, str], np.ndarray] = {}

    def _cached(self, key: tuple[str, str], build: Callable[[], np.ndarray]) -> np.ndarray:
        if key not in self._cache:
            self._cache[key] = build()
        return self._cache[key]

    def _dominant(self, audience: np.ndarray, group: str, key: str) -> np.ndarray:
        return self._cached((group, key), lambda: dominant_is(audience, group, key))

    def products(self, f: ProductFilters) -> np.ndarray | None:
        a = self.tables.arrays
        parts: list[np.ndarray | None] = [
            range_mask(a["product_price"], f.price_min, f.price_max),
            excluded_mask(self.tables.products, f.exclude),
        ]
        if f.category is not None:
            code = self.tables.category_vocab.code(f.category)
            parts.append(self._cached(("product_category", f.category), lambda: a["product_category"] == code))
        return _all(parts)

    def creators(self, f: CreatorFilters) -> np.ndarray | None:
        a, n = self.tables.arrays, len(self.tables.creators)
        parts: list[np.ndarray | None] = [
            range_mask(a["creator_followers"], f.followers_min, f.followers_max),
            range_mask(a["creator_gmv_30d"], f.gmv_30d_min, None),
            excluded_mask(self.tables.creators, f.exclude),
        ]
        if f.fan_tier is not None:
            if f.fan_tier not in FanTier.__members__.values():
                raise ValueError(f"fan_tier must be one of {', '.join(FanTier)}, not {f.fan_tier!r}")
            tier = FanTier(f.fan_tier)
            parts.append(self._cached(("fan_tier", tier), lambda: a["creator_fan_tier"] == tier.code))
        if f.region is not None:
            region = f.region
            parts.append(self._cached(("region", region), lambda: self.catalog.creator_region == region))
        if f.category is not None:
            code = self.tables.category_vocab.code(f.category)
            listed = a["creator_category_listed"]
            parts.append(
                self._cached(
                    ("creator_category", f.category),
                    lambda: listed[:, code] > 0 if code >= 0 else np.zeros(n, bool),
                )
            )
        audience = a["creator_audience"]
        if f.audience_gender is not None:
            share = DEFAULT_GENDER_SHARE if f.audience_gender_min is None else f.audience_gender_min
            parts.append(share_at_least(audience, AudienceGender(f.audience_gender), share))
        for group, key in (("age", f.audience_age), ("city_tier", f.audience_city_tier)):
            if key is not None:
                parts.append(self._dominant(audience, group, str(key)))
        if f.engagement_min is not None:
            rates = self._cached(("engagement", ""), lambda: engagement_rates(self.tables).astype(np.float64))
            parts.append(rates >= f.engagement_min - SHARE_TOLERANCE)
        return _all(parts)
