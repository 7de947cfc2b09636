"""Candidate selection: eligible, filtered candidates from FAISS at a cost that does not grow with the catalogue.

Unfiltered requests (the common case) search the index unfiltered with over-fetch and check plan eligibility only on
the rows found, widening while too few pass — O(candidates), not O(catalogue). Requests with a filter (category,
fan tier, region) combine a cached mask of the filter with the eligibility mask and search exactly the allowed rows
(see :meth:`models.retrieval.ann.VectorIndex.search_filtered`), so a filtered list is still full.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from features.tables import FeatureTables
from models.matching.catalog import Catalog
from models.retrieval.retriever import Retriever
from recsys.core.config import RetrievalSettings
from recsys.core.rules import PairResolution, PlanBook
from recsys.core.vocab import Direction, FanTier

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
        self._masks: dict[tuple[str, str], np.ndarray] = {}

    # --- static filter masks (cached per value) --------------------------------------------------------------

    def _cached(self, key: tuple[str, str], build: Callable[[], np.ndarray]) -> np.ndarray:
        if key not in self._masks:
            self._masks[key] = build()
        return self._masks[key]

    def product_filter(self, category: str | None) -> np.ndarray | None:
        if category is None:
            return None
        code = self.tables.category_vocab.code(category)
        return self._cached(("product_category", category), lambda: self.tables.arrays["product_category"] == code)

    def creator_filter(self, fan_tier: FanTier | None, region: str | None, category: str | None) -> np.ndarray | None:
        a = self.tables.arrays
        parts: list[np.ndarray] = []
        if fan_tier is not None:
            if fan_tier not in FanTier.__members__.values():
                raise ValueError(f"fan_tier must be one of {', '.join(FanTier)}, not {fan_tier!r}")
            tier = FanTier(fan_tier)
            parts.append(self._cached(("fan_tier", tier), lambda: a["creator_fan_tier"] == tier.code))
        if region is not None:
            parts.append(self._cached(("region", region), lambda: self.catalog.creator_region == region))
        if category is not None:
            code = self.tables.category_vocab.code(category)
            n = len(self.tables.creators)
            parts.append(
                self._cached(
                    ("creator_category", category),
                    lambda: a["creator_category_listed"][:, code] > 0 if code >= 0 else np.zeros(n, bool),
                )
            )
        if not parts:
            return None
        mask = parts[0]
        for part in parts[1:]:
            mask = mask & part
        return mask

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
            fetch = int(np.ceil(n * self.settings.overfetch))
            while fetch <= n * _MAX_WIDENING:
                _, rows = self.retriever.candidates(direction, row, min(fetch, index.n_rows))
                resolution = self._resolve(direction, row, rows) if self.planbook is not None else None
                keep = np.flatnonzero(resolution.eligible) if resolution is not None else np.arange(len(rows))
                if len(keep) >= n or fetch >= index.n_rows:
                    keep = keep[:n]
                    return rows[keep], resolution.take(keep) if resolution is not None else None
                fetch *= 2
        mask = self._eligibility_mask(direction, row)
        if static is not None:
            mask = static if mask is None else mask & static
        _, rows = self.retriever.candidates(direction, row, n, mask, self.settings.overfetch)
        return rows, None
