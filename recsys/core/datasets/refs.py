"""Reference checks: does a referenced row exist in this batch (and was it kept) or in the store?

A reference resolves to a row kept from this batch first; an id that only belongs to rows quarantined in this
batch is a bad reference even when the store has an older version of that row (the import meant to replace
it); other ids are looked up in the store through ``known_ids`` (once per id, cached).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import pandas as pd

from recsys.core.datasets.problems import show, singular
from recsys.core.schema import TABLES


class References:
    """What earlier tables kept and quarantined, plus cached store look-ups."""

    OK, UNKNOWN, QUARANTINED, SKIPPED = 0, 1, 2, 3

    def __init__(
        self,
        known_ids: Callable[[str, set[str]], set[str]],
        plan_products: Callable[[set[str]], dict[str, str]] | None = None,
    ) -> None:
        self.known_ids = known_ids
        self.plan_products = plan_products
        self.kept: dict[str, set[str]] = {}
        self.quarantined: dict[str, set[str]] = {}
        self.plan_product: dict[str, str] = {}
        self._in_store: dict[str, dict[str, bool]] = {}

    def record(self, table: str, good: pd.DataFrame, bad_keys: np.ndarray, key: str | None = None) -> None:
        """Remember the ids ``table`` kept and the ids of its quarantined rows (``key``: its key column, default
        the :data:`TABLES` one)."""
        key = key if key is not None else TABLES[table].key
        kept = set(good[key].tolist())
        self.kept[table] = kept
        self.quarantined[table] = {k for k in bad_keys.tolist() if isinstance(k, str)} - kept
        if table == "plans":
            self.plan_product = dict(zip(good["plan_id"].tolist(), good["product_id"].tolist(), strict=True))

    def _store_has(self, table: str, ids: set[str]) -> set[str]:
        cache = self._in_store.setdefault(table, {})
        ask = {i for i in ids if i not in cache}
        if ask:
            found = self.known_ids(table, ask)
            cache.update({i: i in found for i in ask})
        return {i for i in ids if cache[i]}

    def _status_of(self, target: str, ids: set[str]) -> dict[str, int]:
        kept = self.kept.get(target, set())
        quarantined = self.quarantined.get(target, set())
        status = {i: self.OK for i in ids if i in kept}
        status.update({i: self.QUARANTINED for i in ids if i not in kept and i in quarantined})
        rest = {i for i in ids if i not in status}
        in_store = self._store_has(target, rest) if rest else set()
        status.update({i: self.OK if i in in_store else self.UNKNOWN for i in rest})
        return status

    def resolve(self, target: str, ids: np.ndarray, usable: np.ndarray) -> np.ndarray:
        """Status per row (``OK``, ``UNKNOWN``, ``QUARANTINED``; ``SKIPPED`` where the id is not usable)."""
        status = np.full(len(ids), self.SKIPPED, dtype=np.int8)
        positions = np.flatnonzero(usable)
        if positions.size == 0:
            return status
        values = pd.Series(ids[positions], dtype=object)
        in_kept = values.isin(self.kept.get(target, set())).to_numpy(dtype=bool)
        status[positions[in_kept]] = self.OK
        rest = positions[~in_kept]
        if rest.size:
            lookup = self._status_of(target, set(values[~in_kept].tolist()))
            rest_ids = pd.Series(ids[rest], dtype=object)
            for code in (self.OK, self.QUARANTINED, self.UNKNOWN):
                members = [i for i, c in lookup.items() if c == code]
                if members:
                    status[rest[rest_ids.isin(members).to_numpy(dtype=bool)]] = code
        return status

    def check_lists(self, column: str, target: str, lists: pd.Series, usable: np.ndarray) -> Iterator[tuple[int, str]]:
        """(row, reason) for list cells (e.g. a plan's creator_ids) naming ids that do not resolve."""
        cells = lists.to_numpy(dtype=object)
        positions = np.flatnonzero(usable)
        wanted = {i for p in positions for i in cells[p]}
        if not wanted:
            return
        lookup = self._status_of(target, wanted)
        noun = singular(target)
        for pos in positions:
            unknown = [i for i in cells[pos] if lookup[i] == self.UNKNOWN]
            quarantined = [i for i in cells[pos] if lookup[i] == self.QUARANTINED]
            if unknown:
                yield (
                    int(pos),
                    f"{column}: references unknown {noun}(s) {', '.join(show(i) for i in unknown)}",
                )
            if quarantined:
                names = ", ".join(show(i) for i in quarantined)
                yield int(pos), f"{column}: references {noun}(s) {names}, quarantined in this import"

    def check_plan_products(
        self, plan_ids: pd.Series, product_ids: pd.Series, usable: np.ndarray
    ) -> Iterator[tuple[int, str]]:
        """(row, reason) for promotions whose plan belongs to another product."""
        positions = np.flatnonzero(usable)
        if positions.size == 0:
            return
        plans = plan_ids.to_numpy(dtype=object)[positions]
        products = product_ids.to_numpy(dtype=object)[positions]
        owners = np.array([self.plan_product.get(p) for p in plans.tolist()], dtype=object)
        unmapped = np.array([o is None for o in owners], dtype=bool)
        if unmapped.any() and self.plan_products is not None:
            from_store = self.plan_products(set(plans[unmapped].tolist()))
            owners[unmapped] = [from_store.get(p) for p in plans[unmapped].tolist()]
        mismatch = np.array([o is not None for o in owners], dtype=bool) & (owners != products)
        for i in np.flatnonzero(mismatch):
            yield (
                int(positions[i]),
                f"plan_id: plan {show(plans[i])} is for product {show(owners[i])}, not {show(products[i])}",
            )
