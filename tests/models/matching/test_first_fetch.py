"""The unfiltered candidate search fetches ``retrieval.first_fetch`` x n rows first and repeats at
``retrieval.overfetch`` only when too few of them are eligible; either way the rows are those the single full
fetch gives (models/matching/candidates.py)."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from models.bundle import load_bundle
from models.matching.assemble import assemble_matcher
from models.matching.matcher import Matcher
from models.retrieval.retriever import Retriever
from recsys.core.config import Settings
from recsys.core.store import now_utc
from recsys.core.vocab import DIRECTIONS, Direction

N = 40


def _matcher(fixture_bundle, first_fetch: float) -> Matcher:  # type: ignore[no-untyped-def]
    settings = fixture_bundle.settings
    retrieval = settings.retrieval.model_copy(update={"first_fetch": first_fetch, "overfetch": 2.0})
    settings = settings.model_copy(update={"retrieval": retrieval})
    return assemble_matcher(load_bundle(fixture_bundle.path).engine, fixture_bundle.market, settings, now_utc())


@pytest.fixture(scope="module")
def matchers(fixture_bundle):  # type: ignore[no-untyped-def]
    """(first fetch 1.5, first fetch 1.0, one fetch of 2.0 — what the search did before it had a first fetch)"""
    return _matcher(fixture_bundle, 1.5), _matcher(fixture_bundle, 1.0), _matcher(fixture_bundle, 2.0)


def _fetches(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    seen: list[int] = []
    candidates = Retriever.candidates

    def spy(self, direction, row, n, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(n)
        return candidates(self, direction, row, n, *args, **kwargs)

    monkeypatch.setattr(Retriever, "candidates", spy)
    return seen


def _queries(matcher: Matcher, direction: Direction) -> list[int]:
    """Query rows the unfiltered path serves (admitted, not a selective product)."""
    book, finder = matcher.planbook, matcher.candidates
    assert book is not None
    admitted = direction.select(book.admitted_creators, book.admitted_products)
    rows = [int(r) for r in np.flatnonzero(admitted) if not finder._selective(direction, int(r))]
    return rows[:: max(1, len(rows) // 12)][:12]


@pytest.mark.parametrize("direction", DIRECTIONS, ids=str)
def test_the_rows_are_those_of_the_single_full_fetch(matchers, direction, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    first, tight, full = matchers
    seen = _fetches(monkeypatch)
    repeated = 0
    for row in _queries(first, direction):
        want, want_resolution = full.candidates.find_resolved(direction, row, N)
        assert seen[-1:] == [2 * N]
        for matcher, factor in ((first, 1.5), (tight, 1.0)):
            seen.clear()
            got, resolution = matcher.candidates.find_resolved(direction, row, N)
            assert seen[0] == int(np.ceil(N * factor))
            assert seen in ([seen[0]], [seen[0], 2 * N])  # at most one repeat, at the full over-fetch
            repeated += len(seen) - 1
            np.testing.assert_array_equal(got, want)
            assert resolution is not None and want_resolution is not None
            np.testing.assert_array_equal(resolution.rate, want_resolution.rate)
            np.testing.assert_array_equal(resolution.plan_row, want_resolution.plan_row)
    assert repeated > 0  # a first fetch of exactly N rows falls short whenever one of them is not eligible


def test_the_first_fetch_is_the_only_one_when_enough_pass(matchers, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    first = matchers[0]
    seen = _fetches(monkeypatch)
    row = _queries(first, Direction.CREATOR)[0]
    rows, resolution = first.candidates.find_resolved(Direction.CREATOR, row, 5)
    assert seen == [8] and len(rows) == 5 and resolution is not None and bool(resolution.eligible.all())


def test_a_first_fetch_above_the_overfetch_is_a_settings_error() -> None:
    with pytest.raises(ValidationError, match=r"first_fetch \(3.0\) must not exceed overfetch \(2.0\)"):
        Settings(retrieval={"first_fetch": 3.0})
    assert Settings(retrieval={"first_fetch": 2.0}).retrieval.first_fetch == 2.0
