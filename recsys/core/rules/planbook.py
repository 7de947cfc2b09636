"""PlanBook: the vectorized plan rules for the matcher (no Python loop per candidate).

Built once from the plans, products, merchants and creators frames plus ``now`` and the rules settings.
Row numbers refer to the frames as passed in (product row i = ``products.iloc[i]``); plans keep their frame
row, and plans added by :meth:`PlanBook.refresh` get the next rows. Every answer agrees with the scalar
functions (:func:`recsys.core.rules.plans.resolve_plans` with the plans in row order): same eligibility,
effective plan, rate and first reason — a property test checks this on random marketplaces.

Listed (exclusive/targeted) plans only ever enter a computation for the creators they list, so nothing
returned for another creator depends on them; see :mod:`recsys.core.rules.plans` for the precedence table.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import datetime

import numpy as np
import pandas as pd

from recsys.core.config import RulesSettings
from recsys.core.rules import _pairs
from recsys.core.rules._columns import bool_array, explode_lists, id_index, now_ns, numeric_array, ranges
from recsys.core.rules._plan_arrays import OPEN, TIERED, PlanArrays, merge_plans, parse_plans, plan_rows, update_plans
from recsys.core.rules._plan_index import PlanIndex, code_bits, index_plans, terms_ok
from recsys.core.rules.eligibility import creator_reason_codes, merchant_reason_codes
from recsys.core.rules.pair_resolution import PairResolution as PairResolution
from recsys.core.rules.pair_resolution import per_row_values, row_numbers
from recsys.core.rules.reasons import NO_REASON, REASON_CODES, reason_index

_MERCHANT_UNKNOWN = reason_index("merchant_unknown")


class PlanBook:
    """Vectorized plan visibility, eligibility and effective commission. Build with :meth:`build`."""

    settings: RulesSettings
    now: pd.Timestamp
    creator_ids: pd.Index  # creator id by creator row
    product_ids: pd.Index  # product id by product row
    # creators (by creator row)
    _followers: np.ndarray  # int64
    _creator_region: np.ndarray  # int64 code in _region_vocab
    _creator_bits: np.ndarray  # uint64 (n_creators, _category_words): content categories
    _creator_code: np.ndarray  # int16 first admission reason, NO_REASON if admitted
    _admitted_followers: np.ndarray  # int64, sorted: followers of the admitted creators
    _category_vocab: pd.Index
    _region_vocab: pd.Index
    _category_words: int
    _region_words: int
    # products and merchants (by product row)
    _price: np.ndarray  # float64
    _product_merchant: np.ndarray  # int64 merchant row, -1 unknown
    _merchants: pd.DataFrame  # kept for at(now): admission depends on the merchant's age
    # plans
    _plans: PlanArrays
    _index: PlanIndex
    # depend on now (set by _apply_now)
    _product_code: np.ndarray  # int16 first merchant reason per product, NO_REASON if admitted
    _static_code: np.ndarray  # int16 per plan: terms / window / budget
    _product_min_followers: np.ndarray  # float64 per product: lowest min_followers of its unrestricted open plans
    _restricted_public: _pairs.RestrictedPlans  # public plans with category/region limits, statically joinable

    @classmethod
    def build(
        cls,
        plans: pd.DataFrame | None,
        products: pd.DataFrame,
        merchants: pd.DataFrame,
        creators: pd.DataFrame,
        now: datetime | pd.Timestamp,
        settings: RulesSettings,
        parsed: PlanArrays | None = None,
        ids: tuple[pd.Index, pd.Index] | None = None,
    ) -> PlanBook:
        """Parse the four frames (schema columns) and index them for ``now``. ``parsed``: the plans already parsed
        against these products and creators (:attr:`plan_arrays` of a book built from the same frames; ``plans`` is
        then not read). ``ids``: (creator ids, product ids) the caller already holds as unique object Indexes, used
        when they are the frames' id columns (shared, not built again)."""
        book = cls()
        book.settings = settings
        known_creators, known_products = ids if ids is not None else (None, None)
        book.creator_ids = id_index(creators, "creator_id", "creators", known_creators)
        book.product_ids = id_index(products, "product_id", "products", known_products)
        followers = numeric_array(creators["followers"], "creators", "followers")
        if len(followers) and not (followers >= 0).all():
            bad = int(np.flatnonzero(~(followers >= 0))[0])
            raise ValueError(f"creators row {bad}: field 'followers' must be a count >= 0, got {followers[bad]}")
        book._followers = np.trunc(followers).astype(np.int64)
        regions = pd.Index(creators["region"].astype(str).to_numpy(dtype=object), dtype=object)
        book._region_vocab = pd.Index(regions.unique(), dtype=object)
        book._creator_region = book._region_vocab.get_indexer(regions).astype(np.int64)
        category_rows, categories = explode_lists(creators["categories"], "creators", "categories")
        category_names = pd.Index([str(c) for c in categories], dtype=object)
        book._category_vocab = pd.Index(category_names.unique(), dtype=object)
        book._category_words = max(1, -(-len(book._category_vocab) // 64))
        book._region_words = max(1, -(-len(book._region_vocab) // 64))
        book._creator_bits = code_bits(
            category_rows,
            book._category_vocab.get_indexer(category_names).astype(np.int64),
            len(creators),
            book._category_words,
        )
        book._creator_code = creator_reason_codes(creators, settings)
        book._admitted_followers = np.sort(book._followers[book._creator_code == NO_REASON])
        for column in ("real_name_verified", "showcase_enabled", "deposit_paid"):
            bool_array(creators[column], "creators", column)  # same parse errors as the scalar records

        book._price = numeric_array(products["price"], "products", "price")
        merchant_ids = id_index(merchants, "merchant_id", "merchants")
        # each distinct merchant id looked up once (1M products, 40k merchants: 0.6 s -> ~0.1 s)
        codes, named = pd.factorize(products["merchant_id"].astype(str))
        found = merchant_ids.get_indexer(pd.Index(np.asarray(named, dtype=object), dtype=object)).astype(np.int64)
        book._product_merchant = np.where(codes >= 0, found[codes], -1).astype(np.int64)
        book._merchants = merchants
        if parsed is None:
            if plans is None:
                raise ValueError("PlanBook.build needs the plans frame or the plans parsed")
            parsed = parse_plans(plans, book.product_ids, book.creator_ids, book._category_vocab, book._region_vocab)
        book._plans = parsed
        book._reindex()
        book._apply_now(now)
        return book

    # --- keeping up to date ---------------------------------------------------------------------------------

    def at(self, now: datetime | pd.Timestamp) -> PlanBook:
        """A PlanBook for another ``now`` (plan windows, merchant ages), sharing the rest. O(n) numpy. Arrays the
        new time leaves as they were (most minutes: no plan starts or ends, no merchant comes of age) are this
        book's own objects, so a forked worker moving its state to a new time keeps sharing their pages."""
        book = copy.copy(self)
        book._apply_now(now)
        if np.array_equal(book._static_code, self._static_code) and np.array_equal(
            book._product_code, self._product_code
        ):  # the same public plans pass: the same derived arrays too
            book._static_code, book._product_code = self._static_code, self._product_code
            book._product_min_followers, book._restricted_public = (
                self._product_min_followers,
                self._restricted_public,
            )
        return book

    def refresh(self, changed_plans: pd.DataFrame) -> PlanBook:
        """A new PlanBook with ``changed_plans`` upserted by plan_id (API edits); ``self`` is untouched.

        Only the changed rows are parsed; the indexes are re-derived with numpy. Changed plans keep their row,
        new plans are appended. To end a plan, set its ``ends_at``. Creator, product and merchant changes need
        a :meth:`build`.
        """
        changed = parse_plans(
            changed_plans, self.product_ids, self.creator_ids, self._category_vocab, self._region_vocab
        )
        book = copy.copy(self)
        updated = update_plans(self._plans, changed, plan_rows(self._plans, changed.plan_ids))
        if updated is not None:  # values only: keep the indexes, re-check the terms
            book._plans = updated
            book._index = replace(self._index, terms_ok=terms_ok(updated, self.settings))
        else:
            book._plans = merge_plans(self._plans, changed)
            book._reindex()
        book._apply_now(self.now)
        return book

    def _reindex(self) -> None:
        self._index = index_plans(
            self._plans,
            len(self.product_ids),
            len(self.creator_ids),
            self._category_words,
            self._region_words,
            self.settings,
        )

    def _apply_now(self, now: datetime | pd.Timestamp) -> None:
        self.now = pd.Timestamp(now_ns(now), unit="ns")
        t = now_ns(now)
        a = self._plans
        merchant_code = merchant_reason_codes(self._merchants, self.now, self.settings)
        known = self._product_merchant >= 0
        self._product_code = np.where(
            known,
            merchant_code[np.maximum(self._product_merchant, 0)] if len(merchant_code) else 0,
            _MERCHANT_UNKNOWN,
        ).astype(np.int16)
        self._static_code = _pairs.static_codes(a, self._index.terms_ok, t)
        # creator-independent part of eligible_products_mask: public plans open to everyone but min_followers
        public_ok = (
            ((a.type_code == OPEN) | (a.type_code == TIERED)) & (self._static_code == NO_REASON) & (a.product_row >= 0)
        )
        public_ok[public_ok] = self._product_code[a.product_row[public_ok]] == NO_REASON
        restricted = a.has_categories | a.has_regions
        simple = np.flatnonzero(public_ok & ~restricted)
        self._product_min_followers = np.full(len(self.product_ids), np.inf)
        np.minimum.at(self._product_min_followers, a.product_row[simple], a.min_followers[simple].astype(float))
        self._restricted_public = _pairs.RestrictedPlans.gather(self, np.flatnonzero(public_ok & restricted))

    # --- queries --------------------------------------------------------------------------------------------

    @property
    def plan_arrays(self) -> PlanArrays:
        """The parsed plans (what :meth:`build` takes as ``parsed`` for the same frames)."""
        return self._plans

    @property
    def n_plans(self) -> int:
        return self._plans.n_plans

    @property
    def nbytes(self) -> int:
        """Bytes held in the book's numpy arrays (object arrays count their pointers only)."""
        parts = [vars(self), vars(self._plans), vars(self._index), vars(self._restricted_public)]
        return sum(v.nbytes for part in parts for v in part.values() if isinstance(v, np.ndarray))

    @property
    def plan_ids(self) -> np.ndarray:
        """Plan id by plan row (object array)."""
        return self._plans.plan_ids

    def public_rates(self) -> np.ndarray:
        """Per product row, the best base rate of its public (open or tiered) plans open now with valid terms;
        NaN where none. Public information only: exclusive and targeted plans never contribute."""
        a = self._plans
        public = ((a.type_code == OPEN) | (a.type_code == TIERED)) & (self._static_code == NO_REASON)
        public &= a.product_row >= 0
        rates = np.full(len(self.product_ids), -np.inf)
        np.maximum.at(rates, a.product_row[public], a.base_rate[public])
        return np.where(np.isfinite(rates), rates, np.nan)

    def best_rates(self) -> np.ndarray:
        """Per product row, the highest rate any of its plans open now with valid terms may pay (base or tier rate,
        listed plans included); NaN where none. An upper bound of every creator's effective rate on the product
        (filters on a minimum rate search only the products it keeps)."""
        a = self._plans
        plan_best = a.base_rate.copy()
        np.fmax.at(plan_best, a.tier_plan, a.tier_rate)
        ok = (self._static_code == NO_REASON) & (a.product_row >= 0)
        rates = np.full(len(self.product_ids), np.nan)
        np.fmax.at(rates, a.product_row[ok], plan_best[ok])
        return rates

    @property
    def admitted_products(self) -> np.ndarray:
        """Bool per product row: its merchant is known and admitted (others are never recommended)."""
        return self._product_code == NO_REASON

    @property
    def admitted_creators(self) -> np.ndarray:
        """Bool per creator row: real-name verified, showcase enabled, deposit paid (as configured)."""
        return self._creator_code == NO_REASON

    def creator_refusal(self, creator_row: int) -> str | None:
        """The first reason code why a creator may not join any plan (None when admitted)."""
        code = int(self._creator_code[int(row_numbers(creator_row, len(self.creator_ids), "creator_row")[0])])
        return None if code == NO_REASON else REASON_CODES[code]

    def product_refusal(self, product_row: int) -> str | None:
        """The first reason code why a product is never recommended (its merchant), None when admitted."""
        code = int(self._product_code[int(row_numbers(product_row, len(self.product_ids), "product_row")[0])])
        return None if code == NO_REASON else REASON_CODES[code]

    def products_for_creator(
        self,
        creator_row: int,
        product_rows: np.ndarray,
        predicted_units: np.ndarray | None = None,
        cumulative_units: np.ndarray | None = None,
    ) -> PairResolution:
        """Resolve one creator's plans on candidate products (arrays aligned with ``product_rows``).

        ``predicted_units`` / ``cumulative_units`` (per candidate) project tiered rates; GMV-based tiers use
        units x the product's price.
        """
        products = row_numbers(product_rows, len(self.product_ids), "product_rows")
        creator = row_numbers(creator_row, len(self.creator_ids), "creator_row")
        creators = np.full(len(products), creator[0], dtype=np.int64)
        return self._resolve(creators, products, predicted_units, cumulative_units)

    def creators_for_product(
        self,
        product_row: int,
        creator_rows: np.ndarray,
        predicted_units: np.ndarray | None = None,
        cumulative_units: np.ndarray | None = None,
    ) -> PairResolution:
        """Resolve candidate creators' plans on one product (arrays aligned with ``creator_rows``)."""
        creators = row_numbers(creator_rows, len(self.creator_ids), "creator_rows")
        product = row_numbers(product_row, len(self.product_ids), "product_row")
        products = np.full(len(creators), product[0], dtype=np.int64)
        return self._resolve(creators, products, predicted_units, cumulative_units)

    def resolve_pairs(
        self,
        creator_rows: np.ndarray,
        product_rows: np.ndarray,
        predicted_units: np.ndarray | None = None,
        cumulative_units: np.ndarray | None = None,
    ) -> PairResolution:
        """Resolve arbitrary aligned (creator row, product row) pairs."""
        creators = row_numbers(creator_rows, len(self.creator_ids), "creator_rows")
        products = row_numbers(product_rows, len(self.product_ids), "product_rows")
        if len(creators) != len(products):
            raise ValueError(f"got {len(creators)} creator rows but {len(products)} product rows")
        return self._resolve(creators, products, predicted_units, cumulative_units)

    def _resolve(
        self,
        creators: np.ndarray,
        products: np.ndarray,
        predicted_units: np.ndarray | None,
        cumulative_units: np.ndarray | None,
    ) -> PairResolution:
        n = len(products)
        fields = _pairs.resolve(
            self,
            creators,
            products,
            per_row_values(predicted_units, n, "predicted_units"),
            per_row_values(cumulative_units, n, "cumulative_units"),
        )
        return PairResolution(*fields)

    def project(self, resolution: PairResolution, predicted_units: np.ndarray) -> PairResolution:
        """``resolution`` with its effective plans chosen again at rates projected from ``predicted_units`` (one
        per pair): the same answer as resolving the pairs anew with those units, without a second resolution."""
        units = per_row_values(predicted_units, len(resolution.eligible), "predicted_units")
        plan_row, plan_type, rate = _pairs.choose(self, resolution.entries, units)
        return replace(resolution, plan_row=plan_row, plan_type=plan_type, rate=rate)

    def eligible_products_mask(self, creator_row: int) -> np.ndarray:
        """Bool over ALL product rows: the creator may join a plan of the product now (filtered retrieval)."""
        c = int(row_numbers(creator_row, len(self.creator_ids), "creator_row")[0])
        mask = np.zeros(len(self.product_ids), dtype=bool)
        if self._creator_code[c] != NO_REASON:
            return mask
        a = self._plans
        mask |= self._product_min_followers <= self._followers[c]
        mask[self._restricted_public.products_for(self, c)] = True
        index = self._index
        listed = index.creator_listed_plans[index.creator_listed_indptr[c] : index.creator_listed_indptr[c + 1]]
        listed = listed[(self._static_code[listed] == NO_REASON) & (a.product_row[listed] >= 0)]
        listed = listed[self._product_code[a.product_row[listed]] == NO_REASON]
        ok = _pairs.requirement_codes(self, listed, np.full(len(listed), c)) == NO_REASON
        mask[a.product_row[listed[ok]]] = True
        return mask

    def open_creator_share(self, product_row: int) -> float:
        """Share of all creators who may join the product's public plans without category or region limits now
        (0 when it has none, or its merchant is not admitted): an estimate of how many retrieved creators will
        pass the rules, so that searches for selective products can go straight to a filtered search."""
        p = int(row_numbers(product_row, len(self.product_ids), "product_row")[0])
        threshold = self._product_min_followers[p]
        if self._product_code[p] != NO_REASON or not np.isfinite(threshold) or len(self.creator_ids) == 0:
            return 0.0
        passing = len(self._admitted_followers) - np.searchsorted(self._admitted_followers, threshold, side="left")
        return float(passing / len(self.creator_ids))

    def eligible_creators_mask(self, product_row: int) -> np.ndarray:
        """Bool over ALL creator rows: the creator may join a plan of this product now (merchant side)."""
        p = int(row_numbers(product_row, len(self.product_ids), "product_row")[0])
        mask = np.zeros(len(self.creator_ids), dtype=bool)
        if self._product_code[p] != NO_REASON:
            return mask
        a, index = self._plans, self._index
        plans = index.product_plans[index.product_indptr[p] : index.product_indptr[p + 1]]
        plans = plans[self._static_code[plans] == NO_REASON]
        for plan in plans[(a.type_code[plans] == OPEN) | (a.type_code[plans] == TIERED)]:
            mask |= _pairs.creators_meeting(self, int(plan))
        starts, ends = index.plan_listed_indptr[plans], index.plan_listed_indptr[plans + 1]
        entries = ranges(starts, ends)
        keys = index.listed_keys[entries]
        n_creators = max(len(self.creator_ids), 1)
        listed_plans, listed_creators = keys // n_creators, keys % n_creators
        ok = _pairs.requirement_codes(self, listed_plans, listed_creators) == NO_REASON
        mask[listed_creators[ok]] = True
        return mask & (self._creator_code == NO_REASON)
