"""Exposure counts: exact over every product's list, or estimated from a seeded sample of lists."""

from __future__ import annotations

from types import SimpleNamespace

import faiss
import numpy as np
import pytest

from models.matching.market import list_exposure
from recsys.core.vocab import Direction


class _CountingIndex:
    """An exact inner-product FAISS index over the creators that counts the queries it answers."""

    def __init__(self, vectors: np.ndarray) -> None:
        self.index = faiss.IndexFlatIP(vectors.shape[1])
        self.index.add(vectors)
        self.queries = 0

    def search(self, q: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        self.queries += len(q)
        return self.index.search(q, n)


def _retriever(n_creators: int = 400, n_products: int = 3000, seed: int = 3) -> SimpleNamespace:
    rng = np.random.default_rng(seed)
    creators = rng.normal(size=(n_creators, 8)).astype(np.float32)
    creators[:, 0] += np.linspace(0, 3, n_creators, dtype=np.float32)  # later creators reach more lists
    products = rng.normal(size=(n_products, 8)).astype(np.float32)
    products[:, 0] = np.abs(products[:, 0])
    index = _CountingIndex(creators)
    return SimpleNamespace(
        creator_vectors=creators,
        product_vectors=products,
        index_for=lambda direction: index if direction == Direction.PRODUCT else None,
        index=index,
        fingerprint=None,  # digest the vectors themselves, as for a bundle written before fingerprints
    )


def test_exact_counts_are_each_creators_lists_and_sum_to_lists_times_depth() -> None:
    r = _retriever(n_creators=5, n_products=3)
    r.creator_vectors[:] = 0
    r.creator_vectors[:, 0] = [1, 2, 3, 4, 5]
    r.index = _CountingIndex(r.creator_vectors)
    r.index_for = lambda direction: r.index
    r.product_vectors[:] = 1  # every product's top 2 by inner product: creators 4 and 3
    counts = list_exposure(r, np.arange(3), depth=2)
    assert counts.tolist() == [0, 0, 0, 3, 3]
    assert list_exposure(r, np.array([0, 2]), depth=2, sample=100).tolist() == [0, 0, 0, 2, 2]


def test_a_sample_searches_that_many_lists_and_estimates_the_counts() -> None:
    r = _retriever()
    products = np.arange(3000)
    exact = list_exposure(r, products, depth=20)
    searched = r.index.queries
    estimate = list_exposure(r, products, depth=20, sample=1000)
    assert (searched, r.index.queries - searched) == (3000, 1000)
    assert estimate.sum() == pytest.approx(exact.sum())  # every list has depth 20: scaled by 3000 / 1000 exactly
    busiest = np.argsort(exact)[-40:]  # where the decay bites: the creators in the most lists
    assert np.abs(estimate[busiest] - exact[busiest]).max() / exact[busiest].mean() < 0.25
    assert np.corrcoef(estimate, exact)[0, 1] > 0.95
    again = list_exposure(r, products, depth=20, sample=1000)
    assert np.array_equal(again, estimate)  # seeded: every worker gets the same estimate


def test_counts_are_kept_and_read_back_until_what_they_depend_on_changes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    r = _retriever()
    products = np.arange(3000)
    first = list_exposure(r, products, depth=20, sample=1000, cache=tmp_path)
    searched = r.index.queries
    again = list_exposure(r, products, depth=20, sample=1000, cache=tmp_path)
    assert r.index.queries == searched and np.array_equal(again, first)  # read back: no search
    list_exposure(r, products, depth=10, sample=1000, cache=tmp_path)  # another depth: searched again
    assert r.index.queries == searched + 1000
    r.creator_vectors[0, 0] += 1.0  # a vector changed (an onboarded or edited creator): searched again
    list_exposure(r, products, depth=20, sample=1000, cache=tmp_path)
    assert r.index.queries == searched + 2000
    assert len(list(tmp_path.glob("exposure-*.npy"))) == 3


class _Unreadable:
    """Vectors that must not be read (what a retriever with a fingerprint spares the cache key)."""

    def __getitem__(self, item: object) -> np.ndarray:
        raise AssertionError("the product vectors were read to key the cache")


def test_a_retriever_fingerprint_keys_the_cache_without_reading_the_vectors(tmp_path) -> None:  # type: ignore[no-untyped-def]
    r = _retriever()
    products = np.arange(3000)
    r.fingerprint = "a" * 32
    first = list_exposure(r, products, depth=20, sample=1000, cache=tmp_path)
    vectors, r.product_vectors = r.product_vectors, _Unreadable()
    searched = r.index.queries
    again = list_exposure(r, products, depth=20, sample=1000, cache=tmp_path)
    assert r.index.queries == searched and np.array_equal(again, first)  # read back by the fingerprint alone
    r.product_vectors, r.fingerprint = vectors, "b" * 32  # other vectors (an overlay): searched again
    list_exposure(r, products, depth=20, sample=1000, cache=tmp_path)
    assert r.index.queries == searched + 1000


def test_the_fingerprint_is_written_with_the_bundle_and_follows_new_rows(fixture_bundle) -> None:  # type: ignore[no-untyped-def]
    from models.bundle import load_bundle
    from models.overlay import OverlayBase

    engine = load_bundle(fixture_bundle.path).engine
    retriever = engine.retriever
    assert retriever.fingerprint is not None and retriever.fingerprint == retriever._digest()
    norms = OverlayBase.of(engine).norms
    rows = np.array([0])
    ranker = engine.rankers[Direction.CREATOR]
    same = retriever.with_rows(engine.tables, norms, np.empty(0, np.int64), np.empty(0, np.int64), ranker)
    changed = retriever.with_rows(engine.tables, norms, rows, rows, ranker)
    assert changed.fingerprint not in (None, retriever.fingerprint, same.fingerprint)
