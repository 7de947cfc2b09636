"""The ranker's product prior (models.retrieval.prior) and the retrieval figures the build records with it.

The prior is checked against a mean computed by hand over the anchors with a scorer whose output is known; the
NDCG against exhaustive ranking against a value worked out on paper."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest


class _Column:
    """A scorer that returns one feature column (so the prior is a known function of the tables)."""

    def __init__(self, index: int) -> None:
        self.index = index

    def predict(self, X: np.ndarray, num_threads: int | None = None) -> np.ndarray:
        return np.asarray(X[:, self.index], dtype=np.float64)


@pytest.fixture(scope="module")
def engine(fixture_bundle):  # type: ignore[no-untyped-def]
    from models.bundle import load_bundle

    return load_bundle(fixture_bundle.path).engine


def test_anchors_are_creators_of_the_category_and_the_prior_is_their_mean_score(engine) -> None:  # type: ignore[no-untyped-def]
    from models.retrieval.prior import ProductPrior

    tables = engine.tables
    scorer = _Column(tables.feature_names.index("x_category_gmv_share"))  # depends on the creator and the product
    prior, column = ProductPrior.fit(tables, scorer, 3, np.random.default_rng(0))
    main = np.argmax(tables.arrays["creator_category_listed"], axis=1)
    category = tables.arrays["product_category"]
    for k, row in enumerate(prior.anchors):
        chosen = row[row >= 0]
        assert len(chosen) == min(3, int((main == k).sum())) or (main == k).sum() == 0
        if (main == k).any():
            assert set(main[chosen]) == {k}
    for p in (0, 17, 400, len(tables.products) - 1):
        anchors = prior.anchors[category[p]]
        anchors = anchors[anchors >= 0]
        by_hand = np.mean([tables.vectors(np.array([c]), np.array([p]))[0, scorer.index] for c in anchors])
        assert prior.raw(tables, scorer, np.array([p]))[0] == pytest.approx(by_hand, rel=1e-6)
        assert column[p] == pytest.approx((by_hand - prior.mean) / prior.std, rel=1e-5, abs=1e-6)
    assert abs(float(column.mean())) < 1e-4 and float(column.std()) == pytest.approx(1.0, rel=1e-4)


def test_a_product_only_score_is_its_own_prior(engine) -> None:  # type: ignore[no-untyped-def]
    from models.retrieval.prior import ProductPrior

    tables = engine.tables
    scorer = _Column(tables.feature_names.index("p_rating"))
    prior, _ = ProductPrior.fit(tables, scorer, 2, np.random.default_rng(1))
    rating = tables.vectors(np.zeros(len(tables.products), np.int64), np.arange(len(tables.products)))[:, scorer.index]
    np.testing.assert_allclose(prior.raw(tables, scorer, np.arange(len(tables.products))), rating, rtol=1e-6)


def test_the_prior_survives_a_save_and_load(engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from models.retrieval.retriever import Retriever

    retriever = engine.retriever
    assert retriever.prior is not None and retriever.dim_names[-1] == "product_prior"
    retriever.save(tmp_path)
    loaded = Retriever.load(tmp_path)
    assert loaded.prior is not None
    np.testing.assert_array_equal(loaded.prior.anchors, retriever.prior.anchors)
    assert (loaded.prior.mean, loaded.prior.std) == (retriever.prior.mean, retriever.prior.std)
    meta = json.loads((tmp_path / "retrieval.json").read_text())
    del meta["prior"]
    (tmp_path / "retrieval.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="prior and its dimension disagree"):
        Retriever.load(tmp_path)


def test_new_products_need_the_ranker_for_their_prior(engine) -> None:  # type: ignore[no-untyped-def]
    from models.retrieval.retriever import RetrievalNorms

    with pytest.raises(ValueError, match="need the ranker"):
        engine.retriever.with_rows(engine.tables, RetrievalNorms.of(engine.tables), np.array([0]), np.array([0]))


def test_ndcg_against_exhaustive_ranking_by_hand() -> None:
    from models.retrieval.build import ndcg_vs_exhaustive

    scores = np.array([9.0, 8.0, 7.0, 6.0, 5.0, 4.0])  # exhaustive top 3: rows 0, 1, 2
    assert ndcg_vs_exhaustive(scores, np.arange(6), k=3) == 1.0
    # row 1 not retrieved: the list is 0, 2, 3 -> gains 1, 1, 0
    ideal = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert ndcg_vs_exhaustive(scores, np.array([0, 2, 3, 5]), k=3) == pytest.approx((1 + 1 / math.log2(3)) / ideal)
    # nothing of the top 3 retrieved
    assert ndcg_vs_exhaustive(scores, np.array([4, 5]), k=3) == 0.0


def test_the_build_records_the_prior_and_the_lists_against_exhaustive_ranking(fixture_bundle) -> None:  # type: ignore[no-untyped-def]
    metrics = json.loads((fixture_bundle.path / "manifest.json").read_text())["metrics"]
    assert metrics["prior_anchors"] >= 1
    for direction in ("creator", "product"):
        assert 0.8 <= metrics[f"{direction}_ndcg@10_vs_exhaustive@100"] <= 1.0


def test_a_pair_the_scorer_cannot_score_leaves_the_product_at_the_mean(engine) -> None:  # type: ignore[no-untyped-def]
    from models.retrieval.prior import ProductPrior

    tables = engine.tables
    rating = tables.feature_names.index("p_rating")

    class _NaNForCategoryZero:
        def predict(self, X: np.ndarray, num_threads: int | None = None) -> np.ndarray:
            category = X[:, tables.feature_names.index("p_category")]
            return np.where(category == 0, np.nan, X[:, rating]).astype(np.float64)

    prior, column = ProductPrior.fit(tables, _NaNForCategoryZero(), 2, np.random.default_rng(2))
    in_zero = tables.arrays["product_category"] == 0
    assert in_zero.any() and (~in_zero).any()  # the premise: both kinds of products
    assert np.isfinite([prior.mean, prior.std]).all()
    np.testing.assert_array_equal(column[in_zero], 0.0)
    assert float(column[~in_zero].std()) > 0.5  # the others keep their standardised rating
