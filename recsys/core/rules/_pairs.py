"""The vectorized kernel behind :class:`~recsys.core.rules.planbook.PlanBook`: every (pair, plan of the pair's
product) becomes one *entry*; visibility, refusal codes and rates are computed per entry with numpy, then
reduced per pair. Reason codes are indices into ``REASON_CODES``; smaller = higher priority, so "first reason"
is a minimum.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from recsys.core.rules._columns import ranges
from recsys.core.rules._plan_arrays import EXCLUSIVE, GMV, OPEN, TARGETED, TIERED, PlanArrays
from recsys.core.rules.commission import tiered_rates
from recsys.core.rules.reasons import NO_REASON, reason_index
from recsys.core.vocab import find_sorted

if TYPE_CHECKING:
    from recsys.core.rules.planbook import PlanBook

_TERMS = reason_index("plan_terms_invalid")
_NOT_STARTED = reason_index("plan_not_started")
_ENDED = reason_index("plan_ended")
_BUDGET = reason_index("plan_budget_spent")
_FOLLOWERS = reason_index("plan_min_followers_not_met")
_CATEGORY = reason_index("plan_category_not_allowed")
_REGION = reason_index("plan_region_not_allowed")
_NOT_OFFERED = reason_index("plan_not_offered_to_creator")
# precedence by type code: exclusive 0, targeted 1, open/tiered 2; ties among equal rates: open first
_PRECEDENCE = np.zeros(4, dtype=np.int8)
_PRECEDENCE[[EXCLUSIVE, TARGETED, OPEN, TIERED]] = [0, 1, 2, 2]


def static_codes(a: PlanArrays, terms_ok: np.ndarray, now: int) -> np.ndarray:
    """Per plan, the first of: terms invalid, not started, ended, budget spent (``NO_REASON`` if none)."""
    code = np.full(a.n_plans, NO_REASON, dtype=np.int16)
    with np.errstate(invalid="ignore"):
        code[~np.isnan(a.budget) & (a.budget_spent >= a.budget)] = _BUDGET
    code[now >= a.ends] = _ENDED
    code[now < a.starts] = _NOT_STARTED
    code[~terms_ok] = _TERMS
    return code


def _has_bit(words: np.ndarray, position: np.ndarray | np.integer) -> np.ndarray:
    """Whether 64-bit ``words`` have bit ``position & 63`` set (the word holding a region's bit: ``position >> 6``
    of its set)."""
    return ((words >> (position & 63).astype(np.uint64)) & np.uint64(1)) == 1


def requirement_codes(book: PlanBook, plans: np.ndarray, creators: np.ndarray) -> np.ndarray:
    """Per aligned (plan, creator): the first unmet requirement (followers, category, region) or NO_REASON."""
    a, index = book._plans, book._index
    code = np.full(len(plans), NO_REASON, dtype=np.int16)
    slot = index.region_slot[plans]
    restricted = np.flatnonzero(slot >= 0)
    if len(restricted):
        region = book._creator_region[creators[restricted]]
        code[restricted[~_has_bit(index.region_bits[slot[restricted], region >> 6], region)]] = _REGION
    slot = index.category_slot[plans]
    restricted = np.flatnonzero(slot >= 0)
    if len(restricted):
        shared = index.category_bits[slot[restricted]] & book._creator_bits[creators[restricted]]
        code[restricted[~shared.any(axis=1)]] = _CATEGORY
    code[book._followers[creators] < a.min_followers[plans]] = _FOLLOWERS
    return code


def creators_meeting(book: PlanBook, plan: int) -> np.ndarray:
    """Bool over every creator row: the creator meets ``plan``'s requirements — :func:`requirement_codes` of one
    plan against all creators, with the plan's slots read once instead of per creator (1M bench, a plan with a
    follower floor over 100k creators: 1.6 → 0.3 ms, ``bench/PROFILE.md``)."""
    a, index = book._plans, book._index
    ok = book._followers >= a.min_followers[plan]
    slot = int(index.region_slot[plan])
    if slot >= 0:
        region = book._creator_region
        ok &= _has_bit(index.region_bits[slot][region >> 6], region)
    slot = int(index.category_slot[plan])
    if slot >= 0:
        ok &= (book._creator_bits & index.category_bits[slot]).any(axis=1)
    return ok


@dataclass(frozen=True)
class RestrictedPlans:
    """Requirement arrays of a fixed set of plans laid out contiguously, so that checking all of them for one
    creator is a few vector operations (the all-products mask checks every restricted public plan)."""

    product: np.ndarray  # int64 product row per plan
    min_followers: np.ndarray  # int64
    has_categories: np.ndarray  # bool
    category_bits: np.ndarray  # uint64 (n, words), zero where unrestricted
    has_regions: np.ndarray  # bool
    region_bits: np.ndarray  # uint64 (n, words)

    @classmethod
    def gather(cls, book: PlanBook, plans: np.ndarray) -> RestrictedPlans:
        a, index = book._plans, book._index
        category_slot, region_slot = index.category_slot[plans], index.region_slot[plans]
        category_bits = np.zeros((len(plans), index.category_bits.shape[1]), dtype=np.uint64)
        category_bits[category_slot >= 0] = index.category_bits[category_slot[category_slot >= 0]]
        region_bits = np.zeros((len(plans), index.region_bits.shape[1]), dtype=np.uint64)
        region_bits[region_slot >= 0] = index.region_bits[region_slot[region_slot >= 0]]
        return cls(
            a.product_row[plans].astype(np.int64),
            a.min_followers[plans],
            category_slot >= 0,
            category_bits,
            region_slot >= 0,
            region_bits,
        )

    def products_for(self, book: PlanBook, creator: int) -> np.ndarray:
        """Product rows of the plans whose requirements ``creator`` meets (same rules as requirement_codes)."""
        region = int(book._creator_region[creator])
        region_hit = _has_bit(self.region_bits[:, region >> 6], np.int64(region))
        ok = (book._followers[creator] >= self.min_followers) & (~self.has_regions | region_hit)
        if self.has_categories.any():
            shared = (self.category_bits & book._creator_bits[creator]).any(axis=1)
            ok &= ~self.has_categories | shared
        return self.product[ok]


def _is_listed_for(book: PlanBook, plans: np.ndarray, creators: np.ndarray) -> np.ndarray:
    keys = book._index.listed_keys
    query = plans * np.int64(max(len(book.creator_ids), 1)) + creators
    return find_sorted(keys, query)[1]


def entry_rates(
    book: PlanBook, plans: np.ndarray, products: np.ndarray, predicted: np.ndarray, cumulative: np.ndarray
) -> np.ndarray:
    """Effective rate per (plan, pair): the flat rate, or the projected tiered rate."""
    a = book._plans
    rates = a.base_rate[plans].copy()
    tiered = np.flatnonzero(a.type_code[plans] == TIERED)
    if len(tiered):
        p = plans[tiered]
        price = book._price[products[tiered]]
        gmv = a.basis[p] == GMV
        rates[tiered] = tiered_rates(
            a.base_rate[p],
            book._index.tiers[book._index.tier_slot[p]],
            np.where(gmv, cumulative[tiered] * price, cumulative[tiered]),
            np.where(gmv, predicted[tiered] * price, predicted[tiered]),
        )
    return rates


def resolve(
    book: PlanBook, creators: np.ndarray, products: np.ndarray, predicted: np.ndarray, cumulative: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, Entries]:
    """(eligible, plan_row, plan_type, rate, reason, entries) per pair — see ``PairResolution``."""
    a, index = book._plans, book._index
    n = len(products)
    starts, ends = index.product_indptr[products], index.product_indptr[products + 1]
    pair = np.repeat(np.arange(n, dtype=np.int64), ends - starts)
    plan = index.product_plans[ranges(starts, ends)]
    creator = creators[pair]

    type_code = a.type_code[plan]
    visible = (type_code == OPEN) | (type_code == TIERED)
    listed = np.flatnonzero((type_code == EXCLUSIVE) | (type_code == TARGETED))
    visible[listed] = _is_listed_for(book, plan[listed], creator[listed])
    code = np.minimum(book._static_code[plan], requirement_codes(book, plan, creator))
    passing = visible & (code == NO_REASON)

    has_visible = np.bincount(pair[visible], minlength=n) > 0
    has_passing = np.bincount(pair[passing], minlength=n) > 0
    first_plan_code = np.full(n, NO_REASON, dtype=np.int16)
    np.minimum.at(first_plan_code, pair[visible], code[visible])
    plan_part = np.where(has_passing, NO_REASON, np.where(has_visible, first_plan_code, _NOT_OFFERED))
    reason = np.minimum(np.minimum(book._product_code[products], book._creator_code[creators]), plan_part)
    eligible = reason == NO_REASON

    candidates = np.flatnonzero(passing & eligible[pair])
    entries = Entries(pair[candidates], plan[candidates], products, cumulative)
    plan_row, plan_type, rate = choose(book, entries, predicted)
    return eligible, plan_row, plan_type, rate, np.where(eligible, -1, reason).astype(np.int16), entries


@dataclass(frozen=True)
class Entries:
    """The plans each pair may join (``pair`` -> ``plan``), with the pairs' products and earlier units: what the
    effective plan is chosen from. Kept so that tier projections need no second resolution."""

    pair: np.ndarray
    plan: np.ndarray
    products: np.ndarray
    cumulative: np.ndarray

    def take(self, idx: np.ndarray) -> Entries:
        """The entries of pairs ``idx`` (positions, in their new order)."""
        position = np.full(len(self.products), -1, dtype=np.int64)
        position[idx] = np.arange(len(idx))
        keep = np.flatnonzero(position[self.pair] >= 0)
        return Entries(position[self.pair[keep]], self.plan[keep], self.products[idx], self.cumulative[idx])


def choose(book: PlanBook, entries: Entries, predicted: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(plan_row, plan_type, rate) per pair: the joinable plan that wins the precedence, at its rate projected
    with ``predicted`` units (tiered plans)."""
    a, n = book._plans, len(entries.products)
    c_plan, c_pair = entries.plan, entries.pair
    rates = entry_rates(book, c_plan, entries.products[c_pair], predicted[c_pair], entries.cumulative[c_pair])
    c_type = a.type_code[c_plan]
    order = np.lexsort((c_plan, c_type != OPEN, -rates, _PRECEDENCE[c_type], c_pair))
    sorted_pairs = c_pair[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = sorted_pairs[1:] != sorted_pairs[:-1]
    chosen, chosen_pairs = order[first], sorted_pairs[first]

    plan_row = np.full(n, -1, dtype=np.int64)
    plan_row[chosen_pairs] = c_plan[chosen]
    plan_type = np.full(n, -1, dtype=np.int8)
    plan_type[chosen_pairs] = c_type[chosen]
    rate = np.full(n, np.nan)
    rate[chosen_pairs] = rates[chosen]
    return plan_row, plan_type, rate
