"""Lookups of many (creator row, product row) pairs in sorted pair keys, fast in both list directions.

Pair keys are ``creator_row * n_products + product_row``, sorted and unique (a bundle's earlier collaborations:
``FeatureTables.arrays["pair_keys"]``). A creator's list looks up one creator with many products: the needles fall
in that creator's short stretch of the keys, and a binary search of the sorted needles
(:func:`recsys.core.vocab.find_sorted`) is fast. A product's list looks up many creators with one product: the
needles are spread over the whole array and each binary search is a chain of cache misses — at 1M products (4.8M
keys) 1.2 ms for 1,500 needles, three such lookups per request. For those, :class:`PairKeys` keeps a by-product
view (each product's creators, ascending, and where each pair sits in the keys), and a lookup searches only the
product's own entries: 0.17 ms. The view takes ~1 s to build at that size (a stable sort of the keys by product)
and ~46 MiB, so it is built on a background thread: :meth:`PairKeys.prepare` (the service calls it when a state
starts serving), or the first lookup that needs it; lookups meanwhile take the plain search. Answers are identical
either way (measured in process at 1M: a product's list 42.3 -> 38.2 ms CPU, its pair lookups 4.5 -> 0.7 ms).

Given a cache folder, the view is kept there as one ``.npy`` named by a digest of the keys, and later starts (and
the other workers) map that file instead of sorting again: the pages are shared between workers, and only those of
the products looked up are ever read.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
from pathlib import Path

import numpy as np

from recsys.core.atomic import keep_newest, save_npy
from recsys.core.vocab import find_sorted

log = logging.getLogger(__name__)

VIEW_FORMAT = 2
"""Bumped when the view's layout changes, so older files are never read (2: kept in 32-bit integers when the keys
allow it, half the bytes of 1's 64-bit ones: 84 -> 42 MB at 1M products and 4.8M keys)."""

BY_PRODUCT_MIN = 32
"""Needles of one product from which the by-product view answers (fewer: the plain search is as fast)."""


class PairKeys:
    """Sorted unique pair keys and lookups of many pairs at once (see the module docstring)."""

    def __init__(self, keys: np.ndarray, n_products: int, background: bool = True) -> None:
        self.keys = np.asarray(keys, dtype=np.int64)
        self.n_products = int(n_products)
        self.background = background  # False: the view is built in the lookup that first needs it
        self._view: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._building = False
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.keys)

    def __getstate__(self) -> dict[str, object]:
        """Pickled (a Dask worker sending feature tables to another) as the keys alone: no lock, no view."""
        return {"keys": self.keys, "n_products": self.n_products, "background": self.background}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__init__(state["keys"], state["n_products"], state["background"])  # type: ignore[misc]

    def find(self, c: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions in :attr:`keys` of the pairs (``c[i]``, ``p[i]``) and whether each is there (a pair not there
        gets a valid index whose value means nothing): :func:`find_sorted`'s answer for ``c * n_products + p``."""
        c = np.asarray(c, dtype=np.int64)
        p = np.asarray(p, dtype=np.int64)
        one_product = len(c) >= BY_PRODUCT_MIN and len(self.keys) > 0 and bool((p == p[0]).all())
        view = self._by_product() if one_product else None
        if view is None:
            return find_sorted(self.keys, c * self.n_products + p)
        ptr, creators, where = view
        product = int(p[0])
        start, end = (int(ptr[product]), int(ptr[product + 1])) if 0 <= product < len(ptr) - 1 else (0, 0)
        if start == end:
            return np.zeros(len(c), np.int64), np.zeros(len(c), bool)
        spot, hit = find_sorted(creators[start:end], c)
        return where[start + spot].astype(np.int64), hit

    def warm(self, cache: Path | None = None) -> None:
        """Build the by-product view now (in this thread), if it is not built yet; with ``cache`` (a folder), map the
        view kept there for these keys, or build it and keep it there."""
        with self._lock:
            if self._view is None:
                self._view = self._cached_view(cache) if cache is not None else _by_product(self.keys, self.n_products)

    def prepare(self, cache: Path | None = None) -> None:
        """Start building (or mapping, see :meth:`warm`) the by-product view on a background thread (once; nothing
        when it is built)."""
        with self._lock:
            if self._view is None and not self._building:
                self._building = True
                threading.Thread(target=self.warm, args=(cache,), name="recsys-pair-keys", daemon=True).start()

    def _cached_view(self, folder: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        digest = hashlib.blake2b(f"{VIEW_FORMAT}|{self.n_products}|".encode(), digest_size=16)
        digest.update(np.ascontiguousarray(self.keys).view(np.uint8).data)
        path = folder / f"pairs-{digest.hexdigest()}.npy"
        n, size = self.n_products + 1, len(self.keys)
        dtype = _index_dtype(self.keys, self.n_products)
        with contextlib.suppress(OSError, ValueError):
            flat = np.load(path, mmap_mode="r", allow_pickle=False)
            if flat.dtype == dtype and flat.shape == (n + 2 * size,):
                return flat[:n], flat[n : n + size], flat[n + size :]
        ptr, creators, where = _by_product(self.keys, self.n_products)
        try:
            save_npy(path, np.concatenate([ptr, creators, where]).astype(dtype))
            keep_newest(folder, "pairs-*.npy", 3)  # one per bundle served lately
        except OSError as exc:  # a cache: the view is used all the same
            log.warning("could not keep the pair keys' by-product view in %s: %s", folder, exc)
        return ptr, creators, where

    def _by_product(self) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        if self._view is None:
            if not self.background:
                self.warm()
            else:
                self.prepare()
        return self._view


def _by_product(keys: np.ndarray, n_products: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(n_products + 1 pointers to each product's first entry; the entries' creator rows, ascending within a product;
    each entry's position in ``keys``). Keys are creator-major, so a stable sort by product keeps creators ascending."""
    product = keys % n_products
    order = np.argsort(product, kind="stable")
    index = _index_dtype(keys, n_products)
    ptr = np.concatenate([[0], np.cumsum(np.bincount(product, minlength=n_products))]).astype(index)
    return ptr, (keys[order] // n_products).astype(index), order.astype(index)


def _index_dtype(keys: np.ndarray, n_products: int) -> type[np.signedinteger]:
    """int32 when every pointer, creator row and position fits (fewer than 2**31 keys and creator rows), else int64."""
    small = len(keys) < 2**31 and (len(keys) == 0 or int(keys[-1]) // n_products < 2**31)
    return np.int32 if small else np.int64
