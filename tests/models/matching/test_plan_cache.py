"""Parsed plans kept on disk (models/matching/rulebook.py): a cache hit is the parse of the same plans against the
same rows, and nothing without a content key, or with other rows, is ever read from the cache."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models.bundle import load_bundle
from models.matching.rulebook import aligned_planbook
from recsys.core.content_keys import content_key, name_content
from recsys.core.rules import PlanArrays
from recsys.core.rules._plan_arrays import _PER_PLAN as _PER_PLAN_NAMES
from recsys.core.rules._plan_arrays import ids_path
from recsys.core.store import now_utc


@pytest.fixture(scope="module")
def world(fixture_bundle):  # type: ignore[no-untyped-def]
    return load_bundle(fixture_bundle.path).engine.tables, fixture_bundle.market, fixture_bundle.settings.rules


def _same(a: PlanArrays, b: PlanArrays) -> None:
    for f in fields(PlanArrays):
        if f.name not in ("_row_of", "plan_ids"):
            x, y = getattr(a, f.name), getattr(b, f.name)
            assert x.dtype == y.dtype and np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), f.name
    assert a.plan_ids.tolist() == b.plan_ids.tolist()  # object strings parsed, fixed-width text read back
    assert a.row_of == b.row_of


def _keyed(market, key: str):  # type: ignore[no-untyped-def]
    from dataclasses import replace

    plans = market.plans.copy()
    name_content(plans, key)
    return replace(market, plans=plans)


def test_a_cached_parse_is_the_parse_and_serves_the_same_rules(world, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    tables, market, rules = world
    now = now_utc()
    parsed = aligned_planbook(market, tables, rules, now)  # no content key: parsed, nothing kept
    keyed = _keyed(market, "snapshot-a:")
    first = aligned_planbook(keyed, tables, rules, now, tmp_path)
    [kept] = tmp_path.glob("plans-*.npz")
    again = aligned_planbook(keyed, tables, rules, now, tmp_path)  # read back
    assert list(tmp_path.glob("plans-*.npz")) == [kept]
    assert again.plan_arrays is not first.plan_arrays and again.plan_arrays._row_of is None  # from the file
    assert isinstance(again.plan_arrays.plan_ids, np.memmap)  # the ids mapped, not 1M Python strings
    assert [p.name for p in tmp_path.glob("plans-*.ids.npy")] == [f"{kept.stem}.ids.npy"]
    for book in (first, again):
        _same(book.plan_arrays, parsed.plan_arrays)
        for creator in range(0, len(tables.creators), max(1, len(tables.creators) // 7)):
            assert np.array_equal(book.eligible_products_mask(creator), parsed.eligible_products_mask(creator))
        np.testing.assert_array_equal(book.best_rates(), parsed.best_rates())
        np.testing.assert_array_equal(book.public_rates(), parsed.public_rates())


def test_other_plans_or_other_rows_are_parsed_not_read_from_the_cache(world, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    tables, market, rules = world
    now = now_utc()
    keyed = _keyed(market, "snapshot-a:")
    aligned_planbook(keyed, tables, rules, now, tmp_path)
    assert len(list(tmp_path.glob("plans-*.npz"))) == 1
    edited = keyed.plans.copy()  # a derived frame has no key: parsed, and the cache neither read nor written
    edited.loc[0, "commission_rate"] = float(edited.loc[0, "commission_rate"]) + 0.05
    assert content_key(edited) is None and content_key(keyed.plans) == "snapshot-a:"
    from dataclasses import replace

    book = aligned_planbook(replace(keyed, plans=edited), tables, rules, now, tmp_path)
    assert len(list(tmp_path.glob("plans-*.npz"))) == 1
    row = book.plan_arrays.row_of[str(edited.loc[0, "plan_id"])]
    assert book.plan_arrays.base_rate[row] == pytest.approx(float(edited.loc[0, "commission_rate"]))

    creators = keyed.creators.copy()  # the same plans against other creator rows: another key
    creators.loc[creators.index[0], "region"] = "region-nobody-had"
    aligned_planbook(replace(keyed, creators=creators), tables, rules, now, tmp_path)
    assert len(list(tmp_path.glob("plans-*.npz"))) == 2


def test_an_unreadable_cached_parse_is_parsed_again(world, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    tables, market, rules = world
    now = now_utc()
    keyed = _keyed(market, "snapshot-b:")
    parsed = aligned_planbook(keyed, tables, rules, now, tmp_path)
    [kept] = tmp_path.glob("plans-*.npz")
    kept.write_bytes(b"not an npz")
    again = aligned_planbook(keyed, tables, rules, now, tmp_path)
    _same(again.plan_arrays, parsed.plan_arrays)
    assert PlanArrays.load(kept).n_plans == parsed.n_plans  # written again, whole
    ids_path(kept).unlink()  # the ids gone: parsed again, never served without them
    _same(aligned_planbook(keyed, tables, rules, now, tmp_path).plan_arrays, parsed.plan_arrays)
    assert ids_path(kept).exists()


def test_plans_merged_into_read_back_ids_keep_longer_new_ids_whole(world, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from recsys.core.rules._plan_arrays import merge_plans

    tables, market, rules = world
    now = now_utc()
    keyed = _keyed(market, "snapshot-c:")
    aligned_planbook(keyed, tables, rules, now, tmp_path)
    read = aligned_planbook(keyed, tables, rules, now, tmp_path).plan_arrays
    assert read.plan_ids.dtype.kind == "U"
    longer = "plan-" + "x" * (read.plan_ids.dtype.itemsize // 4 + 10)  # wider than the file's fixed width
    changed = PlanArrays(  # one new plan with plan 0's values, no tiers, listed creators, categories or regions
        **{
            f.name: getattr(read, f.name)[:1] if f.name in _PER_PLAN_NAMES else getattr(read, f.name)[:0]
            for f in fields(PlanArrays)
            if f.name != "_row_of"
        }
    )
    changed.plan_ids = np.array([longer], dtype=object)
    merged = merge_plans(read, changed)
    assert merged.n_plans == read.n_plans + 1
    assert merged.plan_ids[-1] == longer and merged.row_of[longer] == read.n_plans


def test_derived_frames_carry_no_content_key() -> None:
    frame = pd.DataFrame({"a": [1, 2, 3]})
    name_content(frame, "k")
    assert content_key(frame) == "k"
    assert content_key(frame[frame["a"] > 1]) is None and content_key(frame.copy()) is None
    assert content_key(pd.concat([frame, frame])) is None
