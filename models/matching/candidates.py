"""Candidate selection: eligible, filtered candidates from FAISS at a cost that does not grow with the catalogue.

Unfiltered requests (the common case) search the index unfiltered with over-fetch and check plan eligibility only on
the rows found, widening while too few pass — O(candidates), not O(catalogue). The first fetch is
``retrieval.first_fetch`` x the candidates wanted (1.5: at 1M, 73-81% of the rows fetched are eligible, so it
usually is the only one); when too few of its rows pass, the search repeats at ``retrieval.overfetch`` (2.0, the
one fetch it used to make). Each query always takes the same fetches, so its list does not change between
requests or pages; and a flat or IVF index's top rows are a prefix of a deeper search's, so the list is the one
the deeper fetch alone would give (up to the order of exact score ties).
Requests with a filter (:mod:`.filters`: category, price, fan tier, region, reach, audience, sales, engagement,
exclusions) combine the filter's mask with the eligibility mask and search exactly the allowed rows (see
:meth:`models.retrieval.ann.VectorIndex.search_filtered`), so a filtered list is still full. ``min_commission``
depends on each creator's plans: :meth:`CandidateFinder.find_paying` searches the products some plan of which may
pay it and resolves the plans of the rows found, widening until enough pay it.
"""

from __future__ import annotations

import numpy as np

from features.tables import FeatureTables
from models.matching.catalog import Catalog
from models.matching.filters import CreatorFilters, FilterMasks, ProductFilters
from models.retrieval.retriever import Retriever
from recsys.core.config import RetrievalSettings
from recsys.core.rules import PairResolution, PlanBook
from recsys.core.vocab import Direction

_MAX_WIDENING = 2  # fetch at most this many times the wanted count before switching to the mask path


class CandidateFinder:
    """Eligible candidate rows for a creator (products) or a product (creators)."""

    def __init__(
        self,
        tables: FeatureTables,
        retriever: Retriever,
        catalog: Catalog,
        planbook: PlanBook | None,
        settings: RetrievalSettings,
    ) -> None:
        self.tables = tables
        self.retriever = retriever
        self.catalog = catalog
        self.planbook = planbook
        self.settings = settings
        self.masks = FilterMasks(tables, catalog)
        self._best_rates: np.ndarray | None = None

    # --- static filter masks ---------------------------------------------------------------------------------

    def product_filter(self, filters: ProductFilters) -> np.ndarray | None:
        """Bool per product row: the rows ``filters`` keep (None: every row)."""
        return self.masks.products(filters)

    def creator_filter(self, filters: CreatorFilters) -> np.ndarray | None:
        """Bool per creator row: the rows ``filters`` keep (None: every row)."""
        return self.masks.creators(filters)

    # --- search ------------------------------------------------------------------------------------------------

    def _resolve(self, direction: Direction, row: int, others: np.ndarray) -> PairResolution:
        """The plan rules for (query row, each of ``others``), with the pairs' earlier orders (tiered plans)."""
        assert self.planbook is not None
        c, p = direction.orient(np.full(len(others), row), others)
        return self.planbook.resolve_pairs(c, p, None, self.tables.pair_orders(c, p))

    def _eligibility_mask(self, direction: Direction, row: int) -> np.ndarray | None:
        if self.planbook is None:
            return None
        return direction.select(self.planbook.eligible_products_mask, self.planbook.eligible_creators_mask)(row)

    def _selective(self, direction: Direction, row: int) -> bool:
        """True when most creators cannot join the product's plans (only listed or restricted plans, or a high
        follower floor): widening the unfiltered search would then be wasted, the filtered search answers at once.
        Both paths return the same rows from an exact index."""
        if direction != Direction.PRODUCT or self.planbook is None:
            return False
        return self.planbook.open_creator_share(row) < 1.0 / _MAX_WIDENING

    def _fetches(self, n: int) -> list[int]:
        """The unfiltered search's fetch sizes, in order: ``first_fetch`` x ``n``, then the full over-fetch
        (doubling while it stays within ``_MAX_WIDENING`` x ``n``)."""
        full = int(np.ceil(n * self.settings.overfetch))
        first = int(np.ceil(n * self.settings.first_fetch))
        out = [first] if first < full else []
        fetch = full
        while fetch <= n * _MAX_WIDENING:
            out.append(fetch)
            fetch *= 2
        return out

    def find(self, direction: Direction, row: int, n: int, static: np.ndarray | None = None) -> np.ndarray:
        """Up to ``n`` eligible rows of the other side for query ``row``, best retrieval score first."""
        return self.find_resolved(direction, row, n, static)[0]

    def find_resolved(
        self, direction: Direction, row: int, n: int, static: np.ndarray | None = None
    ) -> tuple[np.ndarray, PairResolution | None]:
        """:meth:`find`, plus the plan resolution of the rows found when the search already computed it (the
        unfiltered path checks eligibility row by row; the filtered path uses masks and returns None)."""
        if self.planbook is not None:
            refusal = direction.select(self.planbook.creator_refusal, self.planbook.product_refusal)(row)
            if refusal is not None:
                return np.empty(0, np.int64), None
        index = self.retriever.index_for(direction)
        if static is None and not self._selective(direction, row):
            for fetch in self._fetches(n):
                _, rows = self.retriever.candidates(direction, row, min(fetch, index.n_rows))
                resolution = self._resolve(direction, row, rows) if self.planbook is not None else None
                keep = np.flatnonzero(resolution.eligible) if resolution is not None else np.arange(len(rows))
                if len(keep) >= n or fetch >= index.n_rows:
                    keep = keep[:n]
                    return rows[keep], resolution.take(keep) if resolution is not None else None
        mask = self._eligibility_mask(direction, row)
        if static is not None:
            mask = static if mask is None else mask & static
        _, rows = self.retriever.candidates(direction, row, n, mask, self.settings.overfetch)
        return rows, None

    def best_rates(self) -> np.ndarray:
        """Per product row, the highest rate a plan open now may pay anyone (-inf: no plan open now)."""
        if self._best_rates is None:
            book = self.planbook
            rates = book.best_rates() if book is not None else self.tables.arrays["product_best_rate"]
            self._best_rates = np.nan_to_num(np.asarray(rates, dtype=np.float64), nan=-np.inf)
        return self._best_rates

    def _paying_bound(self, min_rate: float) -> np.ndarray:
        """Products some plan of which may pay ``min_rate`` (an upper bound of any creator's rate)."""
        return self.best_rates() >= min_rate

    def find_paying(
        self, creator_row: int, n: int, min_rate: float, static: np.ndarray | None = None
    ) -> tuple[np.ndarray, PairResolution | None]:
        """Up to ``n`` products the creator may join at an effective rate of at least ``min_rate``, best retrieval
        score first, with their plan resolution: the search runs over the products whose plans may pay that much
        and the pairs found are resolved, widening until ``n`` pay it or the products run out."""
        mask = self._paying_bound(min_rate)
        mask = mask if static is None else mask & static
        fetch = n
        while True:
            rows, _ = self.find_resolved(Direction.CREATOR, creator_row, fetch, mask)
            if self.planbook is None:
                return rows[:n], None
            resolution = self._resolve(Direction.CREATOR, creator_row, rows)
            keep = np.flatnonzero(resolution.eligible & (resolution.rate >= min_rate))
            if len(keep) >= n or len(rows) < fetch:
                keep = keep[:n]
                return rows[keep], resolution.take(keep)
            fetch *= 2
