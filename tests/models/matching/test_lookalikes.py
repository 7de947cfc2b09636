"""Lookalike creators: hand-checked performers, exclusions, and lookalikes that share traits on the test world."""

from __future__ import annotations

import numpy as np
import pytest

from models.bundle import load_bundle
from models.matching.assemble import assemble_matcher
from models.matching.lookalikes import LookalikeIndex, best_performers, main_category, shared_traits
from recsys.core.store import now_utc


@pytest.fixture(scope="module")
def matcher(fixture_bundle):  # type: ignore[no-untyped-def]
    bundle = load_bundle(fixture_bundle.path)
    return assemble_matcher(bundle.engine, fixture_bundle.market, fixture_bundle.settings, now_utc())


def test_best_performers_rank_by_realized_gpm_above_the_view_threshold() -> None:
    rows = np.array([0, 0, 1, 2, -1, 3])
    views = np.array([6_000, 6_000, 20_000, 500, 99_999, 10_000])
    gmv = np.array([120.0, 0.0, 100.0, 1_000.0, 5.0, 100.0])
    best = best_performers(rows, views, gmv, min_views=10_000, n=5)
    # creator 0: 120 yuan / 12,000 views = 10 per 1,000; creators 1 and 3: 5 and 10; creator 2: too few views
    assert best.rows.tolist() == [0, 3, 1]  # 0 and 3 tie at 10: the lower row first
    assert best.gpm.tolist() == [10.0, 10.0, 5.0]
    assert best.views.tolist() == [12_000.0, 10_000.0, 20_000.0] and best.gmv.tolist() == [120.0, 100.0, 100.0]
    assert best_performers(rows, views, gmv, min_views=10_000, n=1).rows.tolist() == [0]
    assert best_performers(np.array([], np.int64), np.array([]), np.array([]), 0, 5).rows.size == 0


def test_main_category_is_the_first_listed_one() -> None:
    listed = np.array([[0.5, 1.0, 0.0], [0.0, 0.0, 0.0], [1.0, 0.5, 0.5]], np.float32)
    assert main_category(listed, ["beauty", "food", "tech"]) == ["food", None, "beauty"]


def test_similar_leaves_out_the_creator_and_disallowed_ones(matcher) -> None:  # type: ignore[no-untyped-def]
    index = LookalikeIndex(matcher.engine.retriever)
    allowed = np.asarray(matcher.planbook.admitted_creators, bool)
    row = int(np.flatnonzero(allowed)[0])
    found = index.similar(row, 20, allowed)
    assert len(found.rows) == 20 and row not in found.rows.tolist()
    assert allowed[found.rows].all() and (np.diff(found.similarity) <= 1e-6).all()
    assert (found.similarity <= 1 + 1e-5).all()
    nearest = int(found.rows[0])
    without = allowed.copy()
    without[nearest] = False
    assert nearest not in index.similar(row, 20, without).rows.tolist()


def test_lookalikes_of_several_seeds_credit_the_closest_seed(matcher) -> None:  # type: ignore[no-untyped-def]
    index = LookalikeIndex(matcher.engine.retriever)
    allowed = np.asarray(matcher.planbook.admitted_creators, bool)
    seeds = np.flatnonzero(allowed)[:3]
    found = index.like_any(seeds, 10, allowed)
    assert len(found.rows) == 10 and not set(found.rows.tolist()) & set(seeds.tolist())
    for row, sim, seed in zip(found.rows, found.similarity, found.seed, strict=True):
        own = [float(index.vectors_[s] @ index.vectors_[row]) for s in seeds]
        assert seed in seeds and sim == pytest.approx(max(own), abs=1e-4)


def test_lookalikes_share_the_main_category_more_often_than_random_creators(matcher) -> None:  # type: ignore[no-untyped-def]
    tables = matcher.engine.tables
    listed = tables.arrays["creator_category_listed"]
    category = np.where(listed.max(axis=1) >= 1.0, listed.argmax(axis=1), -1)
    tier = tables.arrays["creator_fan_tier"].astype(np.int64)
    allowed = np.asarray(matcher.planbook.admitted_creators, bool)
    shares = shared_traits(LookalikeIndex(matcher.engine.retriever), category, tier, allowed, k=10, queries=100)
    assert shares.queries == 100 and shares.k == 10
    assert shares.category_lookalikes > 2 * shares.category_random
