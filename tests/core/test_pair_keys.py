"""Pair-key lookups (recsys/core/pair_keys.py) answer exactly as a plain search of the sorted keys, in both list
directions, before and after the by-product view exists."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from recsys.core.pair_keys import BY_PRODUCT_MIN, PairKeys
from recsys.core.vocab import find_sorted, sorted_unique

N_C, N_P = 300, 1000


@pytest.fixture(scope="module")
def keys() -> np.ndarray:
    rng = np.random.default_rng(3)
    c = rng.integers(0, N_C, 20_000)
    p = (rng.pareto(1.0, 20_000) * 20).astype(np.int64) % N_P  # a few busy products, many quiet ones
    return sorted_unique(c * N_P + p)


def _same(pk: PairKeys, keys: np.ndarray, c: np.ndarray, p: np.ndarray) -> None:
    pos, hit = find_sorted(keys, c * N_P + p)
    got_pos, got_hit = pk.find(c, p)
    np.testing.assert_array_equal(got_hit, hit)
    np.testing.assert_array_equal(got_pos[hit], pos[hit])
    assert ((got_pos >= 0) & (got_pos < len(keys))).all()


def test_one_product_many_creators_and_one_creator_many_products(keys: np.ndarray) -> None:
    rng = np.random.default_rng(4)
    pk = PairKeys(keys, N_P, background=False)
    busy = int(np.bincount(keys % N_P).argmax())
    for product in (busy, 0, 7, N_P - 1):  # hits and misses, products with many and with no earlier pairs
        creators = rng.integers(0, N_C, 200)
        _same(pk, keys, creators, np.full(200, product))
    assert pk._view is not None  # the product lookups used the view
    for creator in (0, 5, N_C - 1):
        _same(pk, keys, np.full(300, creator), rng.integers(0, N_P, 300))
    mixed = keys[rng.integers(0, len(keys), 500)]
    _same(pk, keys, mixed // N_P, mixed % N_P)  # many creators and products: the plain search
    few = rng.integers(0, N_C, BY_PRODUCT_MIN - 1)
    _same(pk, keys, few, np.full(len(few), busy))


def test_the_view_is_built_in_the_background_and_answers_the_same(keys: np.ndarray) -> None:
    pk = PairKeys(keys, N_P)
    creators = np.arange(N_C)
    product = np.full(N_C, int(np.bincount(keys % N_P).argmax()))
    _same(pk, keys, creators, product)  # the first lookup starts the build and searches plainly
    pk.warm()
    assert pk._view is not None
    _same(pk, keys, creators, product)


def test_no_keys_and_a_product_past_the_view() -> None:
    empty = PairKeys(np.empty(0, np.int64), N_P, background=False)
    assert not empty.find(np.arange(50), np.full(50, 3))[1].any()
    pk = PairKeys(np.array([5, 1005, 2003], np.int64), N_P, background=False)
    assert pk.find(np.arange(40), np.full(40, N_P + 5))[1].sum() == 0  # an overlay's row the keys never saw
    assert pk.find(np.arange(40), np.full(40, 5))[1].sum() == 2  # creators 0 and 1


def test_pickled_as_the_keys_alone(keys: np.ndarray) -> None:
    """Feature tables travel between Dask workers by pickle: a lookup with its lock and view must travel too."""
    import pickle

    pk = PairKeys(keys, N_P, background=False)
    pk.warm()
    again = pickle.loads(pickle.dumps(pk))
    assert again._view is None and again.n_products == N_P and not again.background
    _same(again, keys, np.arange(N_C), np.full(N_C, int(np.bincount(keys % N_P).argmax())))


def test_a_kept_view_is_mapped_by_the_next_start_and_answers_the_same(keys: np.ndarray, tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    busy = int(np.bincount(keys % N_P).argmax())
    first = PairKeys(keys, N_P, background=False)
    first.warm(tmp_path)
    kept = list(tmp_path.glob("pairs-*.npy"))
    assert len(kept) == 1
    again = PairKeys(keys, N_P, background=False)
    again.warm(tmp_path)
    assert again._view is not None and isinstance(again._view[0], np.memmap)  # mapped from the file, not sorted
    for product in (busy, 0, N_P - 1):
        creators = rng.integers(0, N_C, 200)
        _same(again, keys, creators, np.full(200, product))
    other = PairKeys(keys[:-5], N_P, background=False)  # other keys: their own file
    other.warm(tmp_path)
    assert len(list(tmp_path.glob("pairs-*.npy"))) == 2
    _same(other, keys[:-5], rng.integers(0, N_C, 200), np.full(200, busy))


def test_a_damaged_kept_view_is_built_again(keys: np.ndarray, tmp_path: Path) -> None:
    PairKeys(keys, N_P, background=False).warm(tmp_path)
    (path,) = tmp_path.glob("pairs-*.npy")
    path.write_bytes(path.read_bytes()[:1000])  # cut short
    pk = PairKeys(keys, N_P, background=False)
    pk.warm(tmp_path)
    _same(pk, keys, np.arange(N_C), np.full(N_C, int(np.bincount(keys % N_P).argmax())))
    kept = np.load(path)
    assert kept.shape == (N_P + 1 + 2 * len(keys),) and kept.dtype == np.int32  # written whole again, 32-bit


def test_creator_rows_past_32_bits_keep_a_64_bit_view(tmp_path: Path) -> None:
    n_p = 10
    creators = np.arange(2**31 - 20, 2**31 + 20, dtype=np.int64)  # rows on both sides of int32's limit
    keys = sorted_unique(creators * n_p + 3)
    pk = PairKeys(keys, n_p, background=False)
    pk.warm(tmp_path)
    (path,) = tmp_path.glob("pairs-*.npy")
    assert np.load(path).dtype == np.int64
    pos, hit = pk.find(creators, np.full(len(creators), 3))
    assert hit.all() and (keys[pos] == creators * n_p + 3).all()
