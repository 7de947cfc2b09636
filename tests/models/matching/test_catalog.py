"""The catalogue's compact columns (models/matching/catalog.py): the same values as an object array, fewer objects."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.matching.catalog import TextColumn, shared_strings


@pytest.mark.parametrize("dtype", ["str", object])
def test_a_text_column_reads_back_every_cell(dtype: str | type) -> None:
    values = pd.Series(["短视频 bag", "", None, "a" * 300, "é"], dtype=dtype).reindex([0, 1, 2, 3, 4, 7])
    column = TextColumn(values)
    assert len(column) == 6
    assert [column[i] for i in range(6)] == ["短视频 bag", "", None, "a" * 300, "é", None]


def test_a_text_column_of_a_slice_starts_at_the_slice() -> None:
    values = pd.Series([f"t{i}" for i in range(10)], dtype="str")
    assert [TextColumn(values.iloc[3:])[i] for i in range(2)] == ["t3", "t4"]


def test_shared_strings_keep_values_and_share_equal_ones() -> None:
    column = pd.Series(["beauty", "food", "beauty", None, "food"] * 4, dtype="str").reindex(range(22))
    shared = shared_strings(column)
    expected = column.to_numpy(object)
    assert shared.dtype == object and len(shared) == 22
    assert all((a == b) or (pd.isna(a) and pd.isna(b)) for a, b in zip(shared, expected, strict=True))
    beauty = [x for x in shared if x == "beauty"]
    assert len({id(x) for x in beauty}) == 1  # one object for the 8 rows
    assert (shared == "food").sum() == 8  # a vectorised comparison still works (the region filter uses one)


def test_mostly_distinct_values_are_left_as_they_come() -> None:
    column = pd.Series([f"id{i}" for i in range(50)], dtype=object)
    assert np.array_equal(shared_strings(column), column.to_numpy(object))


def test_rows_already_in_the_bundles_order_are_taken_as_they_are() -> None:
    from models.matching.catalog import aligned_rows

    frame = pd.DataFrame({"product_id": pd.Series(["a", "b", "c", "new"], dtype="str"), "price": [1.0, 2.0, 3.0, 4.0]})
    ids = pd.Index(np.array(["a", "b", "c"], dtype=object), dtype=object)
    same = aligned_rows(frame, "product_id", ids)
    assert same is not None and same["price"].tolist() == [1.0, 2.0, 3.0]  # the store's later entities left out
    assert all(x is y for x, y in zip(same["product_id"], ids, strict=True))  # the bundle's own id objects
    assert aligned_rows(frame, "product_id", pd.Index(np.array(["b", "a", "c"], dtype=object), dtype=object)) is None
    assert aligned_rows(frame.iloc[:2], "product_id", ids) is None  # an id the store no longer has
