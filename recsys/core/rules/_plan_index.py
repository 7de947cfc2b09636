"""Indexes derived from :class:`PlanArrays` with numpy only: plans by product, tier tables, terms validity,
listed-creator lookups and category/region bitsets. Rebuilt in full after a refresh (no per-cell parsing)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recsys.core.config import RulesSettings
from recsys.core.rules._plan_arrays import EXCLUSIVE, TARGETED, TIERED, PlanArrays
from recsys.core.vocab import sorted_unique


@dataclass
class PlanIndex:
    product_indptr: np.ndarray  # int64 (n_products + 1,): plans of product p are product_plans[indptr[p]:indptr[p+1]]
    product_plans: np.ndarray  # int64 plan rows grouped by product, ascending row within a product
    terms_ok: np.ndarray  # bool per plan: type known, rates within bounds, tiers monotone (tiered plans)
    tier_slot: np.ndarray  # int32 per plan: row of `tiers` for tiered plans, -1 otherwise
    tiers: np.ndarray  # float64 (n_tiered, width, 2): thresholds (+inf padded) and rates
    listed_keys: np.ndarray  # sorted int64 plan * n_creators + creator, for exclusive/targeted plans only
    plan_listed_indptr: np.ndarray  # int64 (n_plans + 1,) into listed_keys
    creator_listed_indptr: np.ndarray  # int64 (n_creators + 1,) into creator_listed_plans
    creator_listed_plans: np.ndarray  # int64 listed plans naming each creator
    category_slot: np.ndarray  # int32 per plan, -1 = no category restriction
    category_bits: np.ndarray  # uint64 (n_restricted, words)
    region_slot: np.ndarray  # int32 per plan, -1 = no region restriction
    region_bits: np.ndarray  # uint64 (n_restricted, words)


def csr_indptr(groups: np.ndarray, n_groups: int) -> np.ndarray:
    """Offsets of sorted ``groups`` (ints in [0, n_groups)) as a CSR indptr of length n_groups + 1."""
    indptr = np.zeros(n_groups + 1, dtype=np.int64)
    np.cumsum(np.bincount(groups, minlength=n_groups), out=indptr[1:])
    return indptr


def code_bits(owner: np.ndarray, codes: np.ndarray, n_owners: int, words: int) -> np.ndarray:
    """Bitsets (n_owners, words) with bit ``code`` set for every (owner, code) pair (codes < 0 ignored)."""
    bits = np.zeros((n_owners, max(words, 1)), dtype=np.uint64)
    known = codes >= 0
    owner, codes = owner[known], codes[known]
    np.bitwise_or.at(bits, (owner, codes >> 6), np.left_shift(np.uint64(1), (codes & 63).astype(np.uint64)))
    return bits


def _slots(flag: np.ndarray) -> np.ndarray:
    slot = np.full(len(flag), -1, dtype=np.int32)
    slot[flag] = np.arange(int(flag.sum()), dtype=np.int32)
    return slot


def _group_first(groups: np.ndarray) -> np.ndarray:
    first = np.ones(len(groups), dtype=bool)
    first[1:] = groups[1:] != groups[:-1]
    return first


def _shifted(values: np.ndarray) -> np.ndarray:
    out = np.empty_like(values)
    out[1:] = values[:-1]
    if len(out):
        out[0] = np.nan
    return out


def terms_ok(a: PlanArrays, settings: RulesSettings) -> np.ndarray:
    """Vector form of ``validation.terms_reasons(plan) == []``."""
    lo, hi = settings.commission_min, settings.commission_max
    tiered = a.type_code == TIERED
    ok = (a.type_code >= 0) & (a.base_rate >= lo) & (a.base_rate <= hi) & (~tiered | (a.basis >= 0))
    plan = a.tier_plan
    first = _group_first(plan)
    mins_ok = np.where(first, a.tier_min >= 0, a.tier_min > _shifted(a.tier_min))
    rates_ok = a.tier_rate >= np.where(first, a.base_rate[plan], _shifted(a.tier_rate))
    bounds_ok = (a.tier_rate >= lo) & (a.tier_rate <= hi)
    bad = tiered[plan] & ~(mins_ok & rates_ok & bounds_ok)
    ok[plan[bad]] = False
    return ok


def _tier_table(a: PlanArrays) -> tuple[np.ndarray, np.ndarray]:
    tiered = a.type_code == TIERED
    slot = _slots(tiered)
    keep = tiered[a.tier_plan]
    plan, mins, rates = a.tier_plan[keep], a.tier_min[keep], a.tier_rate[keep]
    first = _group_first(plan)
    positions = np.arange(len(plan))
    position = positions - np.maximum.accumulate(np.where(first, positions, 0))
    width = int(position.max()) + 1 if len(position) else 0
    table = np.zeros((int(tiered.sum()), width, 2), dtype=np.float64)
    table[:, :, 0] = np.inf
    table[slot[plan], position, 0] = mins
    table[slot[plan], position, 1] = rates
    return slot, table


def index_plans(
    a: PlanArrays,
    n_products: int,
    n_creators: int,
    category_words: int,
    region_words: int,
    settings: RulesSettings,
) -> PlanIndex:
    """Derive every query index from the parsed plans."""
    n_plans = a.n_plans
    with_product = np.flatnonzero(a.product_row >= 0)
    by_product = with_product[np.argsort(a.product_row[with_product], kind="stable")]
    tier_slot, tiers = _tier_table(a)

    listed_type = (a.type_code == EXCLUSIVE) | (a.type_code == TARGETED)
    is_listed_entry = listed_type[a.listed_plan]
    keys = sorted_unique(
        a.listed_plan[is_listed_entry] * np.int64(max(n_creators, 1)) + a.listed_creator[is_listed_entry]
    )
    key_plans, key_creators = keys // max(n_creators, 1), keys % max(n_creators, 1)
    by_creator = np.argsort(key_creators, kind="stable")

    category_slot = _slots(a.has_categories)
    region_slot = _slots(a.has_regions)
    return PlanIndex(
        product_indptr=csr_indptr(a.product_row[by_product].astype(np.int64), n_products),
        product_plans=by_product.astype(np.int64),
        terms_ok=terms_ok(a, settings),
        tier_slot=tier_slot,
        tiers=tiers,
        listed_keys=keys,
        plan_listed_indptr=csr_indptr(key_plans, n_plans),
        creator_listed_indptr=csr_indptr(key_creators[by_creator], n_creators),
        creator_listed_plans=key_plans[by_creator],
        category_slot=category_slot,
        category_bits=code_bits(
            category_slot[a.category_plan].astype(np.int64),
            a.category_code,
            int(a.has_categories.sum()),
            category_words,
        ),
        region_slot=region_slot,
        region_bits=code_bits(
            region_slot[a.region_plan].astype(np.int64), a.region_code, int(a.has_regions.sum()), region_words
        ),
    )
