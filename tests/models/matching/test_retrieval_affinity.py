"""Lists blend in the retrieval affinity: the retrieval score standardised per query over every candidate (checked
against a brute-force standardisation), ``value x exp(retrieval_blend x z)``, and off at blend 0."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from models.bundle import load_bundle
from models.matching.assemble import assemble_matcher
from models.matching.matcher import Matcher
from models.matching.scoring import RetrievalAffinity
from recsys.core.store import now_utc
from recsys.core.vocab import Direction
from tests.models.matching.test_hide_full import _open_product


@pytest.fixture(scope="module")
def matcher(fixture_bundle) -> Matcher:  # type: ignore[no-untyped-def]
    bundle = load_bundle(fixture_bundle.path)
    return assemble_matcher(bundle.engine, fixture_bundle.market, fixture_bundle.settings, now_utc())


def _with_blend(base: Matcher, blend: float) -> Matcher:
    matching = base.settings.matching.model_copy(update={"retrieval_blend": blend})
    settings = base.settings.model_copy(update={"matching": matching})
    return Matcher(base.engine, base.catalog, base.planbook, settings, replace(base.market, settings=matching))


def test_z_is_the_retrieval_score_standardised_over_every_candidate(matcher: Matcher) -> None:
    retriever = matcher.engine.retriever
    affinity = RetrievalAffinity(retriever)
    n = len(matcher.engine.tables.creators)
    products = np.array([0, 5, 5, 17, 0], np.int64)
    creators = np.array([3, 3, n - 1, 42, 7], np.int64)
    expected = []
    for c, p in zip(creators, products, strict=True):
        every = retriever.scores(Direction.PRODUCT, int(p), np.arange(n)).astype(np.float64)
        expected.append((every[c] - every.mean()) / every.std())
    assert affinity.z(Direction.PRODUCT, creators, products) == pytest.approx(expected, rel=1e-4, abs=1e-5)
    assert affinity.z(Direction.PRODUCT, creators[:0], products[:0]).shape == (0,)
    # creator pools: standardised for the creator over every product
    n_p = len(matcher.engine.tables.products)
    every = retriever.scores(Direction.CREATOR, 3, np.arange(n_p)).astype(np.float64)
    z = affinity.z(Direction.CREATOR, np.array([3, 3]), np.array([0, n_p - 1]))
    assert z == pytest.approx((every[[0, n_p - 1]] - every.mean()) / every.std(), rel=1e-4, abs=1e-5)


def test_moments_of_a_large_side_come_from_every_step_th_row(matcher: Matcher) -> None:
    retriever = matcher.engine.retriever
    vectors = retriever.candidate_vectors(Direction.CREATOR).astype(np.float64)  # the products
    mean, cov = RetrievalAffinity(retriever, max_rows=len(vectors) // 3).moments(Direction.CREATOR, chunk=50)
    step = -(-len(vectors) // (len(vectors) // 3))
    sample = vectors[::step]
    assert mean == pytest.approx(sample.mean(axis=0), abs=1e-9)
    assert cov == pytest.approx(np.cov(sample, rowvar=False, ddof=0), abs=1e-9)
    exact_mean, _ = RetrievalAffinity(retriever).moments(Direction.CREATOR, chunk=50)
    assert exact_mean == pytest.approx(vectors.mean(axis=0), abs=1e-9)


def test_a_query_whose_scores_do_not_vary_has_no_affinity() -> None:
    class Flat:  # every creator scores the same for the product: a zero query vector
        def candidate_vectors(self, direction: Direction) -> np.ndarray:
            return np.arange(12, dtype=np.float32).reshape(4, 3)

        def candidate_every(self, direction: Direction, step: int, block: int) -> list[np.ndarray]:
            return [self.candidate_vectors(direction)[::step]]

        def query(self, direction: Direction, row: int) -> np.ndarray:
            return np.zeros(3, np.float32) if row == 0 else np.ones(3, np.float32)

        def pair_scores(self, direction: Direction, queries: np.ndarray, rows: np.ndarray) -> np.ndarray:
            weighted = np.stack([self.query(direction, int(q)) for q in queries])
            return np.einsum("ij,ij->i", weighted, self.candidate_vectors(direction)[rows]).astype(np.float64)

    z = RetrievalAffinity(Flat()).z(Direction.PRODUCT, np.array([0, 3, 0]), np.array([0, 0, 1]))  # type: ignore[arg-type]
    assert z[:2].tolist() == [0.0, 0.0] and z[2] < 0 and np.isfinite(z).all()


def test_lists_carry_the_affinity_only_when_blended(matcher: Matcher) -> None:
    assert matcher.settings.matching.retrieval_blend > 0 and matcher.scorer.affinity is not None
    off = _with_blend(matcher, 0.0)
    assert off.scorer.affinity is None
    product = _open_product(matcher)
    on_ids = [r.creator_id for r in matcher.recommend_creators(product, k=40)]
    off_ids = [r.creator_id for r in off.recommend_creators(product, k=40)]
    assert on_ids != off_ids  # the blend moves creators
    # money figures do not change with the order: the same creator has the same expected GMV either way
    on = {r.creator_id: r for r in matcher.recommend_creators(product, k=200)}
    off_all = {r.creator_id: r for r in off.recommend_creators(product, k=200)}
    both = set(on) & set(off_all)
    assert both and all(math.isclose(on[c].predicted_gmv, off_all[c].predicted_gmv) for c in both)
    # a large blend follows the affinity: the top of the list has higher z than the list's middle
    strong = _with_blend(matcher, 10.0)
    ranked = [r.creator_row for r in strong.recommend_creators(product, k=40)]
    z = RetrievalAffinity(matcher.engine.retriever).z(
        Direction.PRODUCT, np.array(ranked), np.full(len(ranked), matcher.engine.tables.products.row(product))
    )
    assert z[:10].mean() > z[20:].mean()
    # creator pools blend it too; a product's money figures stay the same
    pools = {
        b: {r.product_id: r for r in m.recommend_products(on_ids[0], k=100)} for b, m in (("on", matcher), ("off", off))
    }
    assert list(pools["on"])[:20] != list(pools["off"])[:20]
    shared = set(pools["on"]) & set(pools["off"])
    assert shared and all(
        math.isclose(pools["on"][x].expected_commission, pools["off"][x].expected_commission) for x in shared
    )


def test_a_mapped_bundle_gives_the_same_affinity_reading_rows_from_its_files(fixture_bundle) -> None:  # type: ignore[no-untyped-def]
    # mapped vectors are read with pread (not faulted in: 1M product vectors stayed resident in every worker)
    plain = load_bundle(fixture_bundle.path).engine.retriever
    mapped = load_bundle(fixture_bundle.path, mmap=True).engine.retriever
    assert mapped.product_index.row_file_ is not None
    c, p = np.array([3, 3, 42, 7]), np.array([0, 5, 17, 5])
    for direction in (Direction.CREATOR, Direction.PRODUCT):
        for a, b in zip(
            RetrievalAffinity(plain, max_rows=100).moments(direction, chunk=7),
            RetrievalAffinity(mapped, max_rows=100).moments(direction, chunk=7),
            strict=True,
        ):
            assert np.array_equal(a, b)
        assert np.array_equal(RetrievalAffinity(plain).z(direction, c, p), RetrievalAffinity(mapped).z(direction, c, p))


def test_z_from_the_flat_index_copy_is_z_from_the_vectors_file(fixture_bundle, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A flat index's own (weighted) rows give the scores the vectors' file gives: no ``pread`` per candidate when
    the index keeps them in memory; IVF lists keep no readable copy and the file is read."""
    retriever = load_bundle(fixture_bundle.path, mmap=True).engine.retriever
    assert retriever.creator_index.kind_ == "flat"
    c, p = np.array([3, 3, 42, 7, 0]), np.array([0, 5, 17, 5, 9])
    affinity = RetrievalAffinity(retriever)
    for direction in (Direction.CREATOR, Direction.PRODUCT):
        rows, queries = direction.candidate_rows(c, p), direction.query_rows(c, p)
        assert retriever.index_for(direction).stored_rows(rows) is not None  # the index copy answers
        read: list[np.ndarray] = []
        with monkeypatch.context() as patch:
            patch.setattr(
                retriever,
                "candidate_rows",
                lambda d, r, seen=read, of=retriever.candidate_rows: seen.append(r) or of(d, r),
            )
            from_index, scores_from_index = affinity.z(direction, c, p), retriever.pair_scores(direction, queries, rows)
            assert read == []  # the index copy answered: no file read
            patch.setattr(retriever.index_for(direction), "stored_rows", lambda rows: None)
            from_file, scores_from_file = affinity.z(direction, c, p), retriever.pair_scores(direction, queries, rows)
        assert len(read) == 2  # without the index copy, the vectors' file is read
        np.testing.assert_allclose(from_index, from_file, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(scores_from_index, scores_from_file, rtol=1e-6, atol=1e-6)
