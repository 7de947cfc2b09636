"""The product ranker's cascade (ranker.cascade_trees / cascade_keep, models/matching/scoring.py): the first trees
choose the first tier, which gets the whole ranker's scores; pages read no deeper than the tier score nothing else,
and every page of a list sees one order."""

from __future__ import annotations

import numpy as np
import pytest

from models.bundle import load_bundle
from models.matching import rerank
from models.matching.assemble import assemble_matcher
from models.matching.matcher import Matcher
from models.matching.scoring import Cascade, PairScorer, ScoredPairs
from recsys.core.store import now_utc
from recsys.core.vocab import Direction

KEEP = 40


@pytest.fixture(scope="module")
def matchers(fixture_bundle):  # type: ignore[no-untyped-def]
    bundle = load_bundle(fixture_bundle.path)
    settings = fixture_bundle.settings
    on = settings.model_copy(
        update={"ranker": settings.ranker.model_copy(update={"cascade_trees": 3, "cascade_keep": KEEP})}
    )
    off = settings.model_copy(update={"ranker": settings.ranker.model_copy(update={"cascade_trees": 0})})
    now = now_utc()
    return (
        assemble_matcher(bundle.engine, fixture_bundle.market, on, now),
        assemble_matcher(bundle.engine, fixture_bundle.market, off, now),
    )


@pytest.fixture
def shallow(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rerank, "RERANK_DEPTH", 20)  # a page of 20 then reads 20 positions, within the first tier


def _spied(monkeypatch: pytest.MonkeyPatch) -> list[ScoredPairs]:
    seen: list[ScoredPairs] = []
    score = PairScorer.score

    def spy(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        out = score(self, *args, **kwargs)
        seen.append(out)
        return out

    monkeypatch.setattr(PairScorer, "score", spy)
    return seen


def _product(matcher: Matcher) -> str:
    """A product with more joinable creators than the first tier holds."""
    for row in np.flatnonzero(matcher.planbook.admitted_products):  # type: ignore[union-attr]
        product = matcher.engine.tables.products.id(int(row))
        if len(matcher.recommend_creators(product, k=200)) > KEEP + 20:
            return product
    raise AssertionError("no product has enough creators for the test")


@pytest.mark.usefixtures("shallow")
def test_the_first_tier_gets_the_whole_rankers_scores_and_the_rest_is_not_scored(matchers, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    on, off = matchers
    assert on.scorer.cascade is not None and off.scorer.cascade is None
    product = _product(on)
    seen = _spied(monkeypatch)
    page = on.recommend_creators(product, k=20)
    scored = seen[-1]
    ranker = on.engine.rankers[Direction.PRODUCT]
    assert scored.tier is not None and int((scored.tier == 0).sum()) == KEEP
    first = np.flatnonzero(scored.tier == 0)
    head = ranker.head_scores(scored.X, 3)
    assert head[first].min() >= head[scored.tier == 1].max()  # the first trees' best
    np.testing.assert_allclose(scored.score[first], ranker.predict(scored.X[first]), rtol=1e-12)
    assert np.isneginf(scored.score[scored.tier == 1]).all()  # never read by a page this shallow
    # the page's creators are all of the first tier, with the fit the whole ranker gives them
    tier0 = {on.engine.tables.creators.id(int(c)) for c in scored.c[first]}
    assert len(page) == 20 and {r.creator_id for r in page} <= tier0
    full = {r.creator_id: r.fit_score for r in off.recommend_creators(product, k=200)}
    assert all(r.fit_score == full[r.creator_id] for r in page)


@pytest.mark.usefixtures("shallow")
def test_pages_see_one_order_across_the_tiers(matchers) -> None:  # type: ignore[no-untyped-def]
    on, _ = matchers
    product = _product(on)
    whole = [r.creator_id for r in on.recommend_creators(product, k=200)]  # reads the second tier: all scored
    paged = [
        r.creator_id for offset in range(0, len(whole), 10) for r in on.recommend_creators(product, 10, offset=offset)
    ]
    assert paged == whole and len(set(whole)) == len(whole)
    first_page = [r.creator_id for r in on.recommend_creators(product, k=20)]  # shallow: the second tier unscored
    assert first_page == whole[:20]


def test_no_cascade_when_the_list_fits_in_the_first_tier(matchers) -> None:  # type: ignore[no-untyped-def]
    on, off = matchers
    product = _product(on)
    saved = on.scorer.cascade
    try:
        on.scorer.cascade = Cascade(3, 10_000)
        assert [r.creator_id for r in on.recommend_creators(product, 20)] == [
            r.creator_id for r in off.recommend_creators(product, 20)
        ]
    finally:
        on.scorer.cascade = saved


def test_a_head_that_cannot_be_compiled_falls_back_to_lightgbm(fixture_bundle, tmp_path, caplog) -> None:  # type: ignore[no-untyped-def]
    ranker = load_bundle(fixture_bundle.path).engine.rankers[Direction.PRODUCT]
    ranker.compiled_ = object()  # type: ignore[assignment]  # served "compiled", but its text model is unreadable
    ranker.model_file, ranker.derived_cache = tmp_path / "missing.txt", tmp_path / "derived"
    ranker.prepare_head(3)
    assert "first 3 trees of missing.txt not compiled" in caplog.text
    X = np.random.default_rng(0).normal(size=(20, len(ranker.feature_names_)))
    expected = ranker.booster_.predict(X, num_iteration=3, raw_score=True)
    np.testing.assert_allclose(ranker.head_scores(X, 3), expected, rtol=1e-12)
