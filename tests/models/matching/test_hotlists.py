"""Hot lists: top-creators leaves out creators flagged for fake engagement and creators who are not admitted."""

from __future__ import annotations

from types import SimpleNamespace
from typing import cast

import numpy as np
import pandas as pd

from features.tables import FeatureTables
from models.matching.hotlists import HotListKind, hot_list, top_creators
from models.matching.matcher import Matcher
from recsys.core.vocab import Vocabulary

# creator: 30-day GMV, followers, listed in beauty?
CREATORS = {"ann": (900.0, 1_000, 1), "bob": (5_000.0, 2_000, 1), "cat": (3_000.0, 3_000, 0), "dan": (0.0, 4_000, 1)}


def _matcher(admitted: list[bool] | None = None) -> Matcher:
    gmv = np.array([[np.log1p(v[0])] for v in CREATORS.values()], np.float32)
    tables = FeatureTables(
        cutoff=pd.Timestamp("2026-06-30"),
        creators=Vocabulary(list(CREATORS)),
        products=Vocabulary([]),
        categories=["beauty", "food"],
        creator_names=["c_log_gmv_30d"],
        product_names=[],
        pair_names=[],
        creator=gmv,
        product=np.zeros((0, 0), np.float32),
        arrays={"creator_category_listed": np.array([[v[2], 0] for v in CREATORS.values()], np.float32)},
    )
    catalog = SimpleNamespace(creator_followers=np.array([v[1] for v in CREATORS.values()]))
    planbook = SimpleNamespace(admitted_creators=np.array(admitted)) if admitted is not None else None
    return cast(Matcher, SimpleNamespace(engine=SimpleNamespace(tables=tables), catalog=catalog, planbook=planbook))


def _ids(matcher: Matcher, rows: np.ndarray) -> list[str]:
    return [matcher.engine.tables.creators.id(int(r)) for r in rows]


def test_top_creators_by_recent_gmv_without_the_flagged_ones() -> None:
    matcher = _matcher()
    assert _ids(matcher, top_creators(matcher, None).rows) == ["bob", "cat", "ann"]  # dan sold nothing
    flagged = np.array([False, True, False, False])  # bob's engagement looks bought
    listed = top_creators(matcher, None, exclude=flagged)
    assert _ids(matcher, listed.rows) == ["cat", "ann"]
    np.testing.assert_allclose(listed.recent_gmv, [3_000.0, 900.0], rtol=1e-4)
    assert _ids(matcher, hot_list(matcher, HotListKind.TOP_CREATORS, "beauty", 60, flagged).rows) == ["ann"]


def test_top_creators_are_admitted_creators_only() -> None:
    matcher = _matcher(admitted=[True, True, False, True])  # cat has no showcase, say
    assert _ids(matcher, top_creators(matcher, None).rows) == ["bob", "ann"]
