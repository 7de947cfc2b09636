"""Query groups: relevance from outcomes, and large queries capped to a seeded sample LightGBM accepts."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.training.windows import query_groups
from recsys.core.vocab import Direction


def _pairs(n_creators: int, product: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "c_row": np.arange(n_creators),
            "p_row": product,
            "gmv": rng.exponential(100, n_creators) * (rng.random(n_creators) < 0.5),
            "orders": 1.0,
            "views": 100.0,
            "clicks": 10.0,
            "rate": 0.2,
            "format_code": 0,
            "promotions": 1,
        }
    )


def test_a_hot_product_query_is_capped_to_a_seeded_sample() -> None:
    pairs = pd.concat([_pairs(12_000, product=0), _pairs(30, product=1)], ignore_index=True)
    groups = query_groups(pairs, Direction.PRODUCT, "gmv", 2.0, max_size=1000, seed=3)
    assert groups.group_sizes.tolist() == [1000, 30]
    again = query_groups(pairs, Direction.PRODUCT, "gmv", 2.0, max_size=1000, seed=3)
    np.testing.assert_array_equal(groups.c_rows, again.c_rows)
    other = query_groups(pairs, Direction.PRODUCT, "gmv", 2.0, max_size=1000, seed=4)
    assert not np.array_equal(groups.c_rows, other.c_rows)
    assert (groups.labels[:1000] > 0).any()


def test_queries_need_two_promoted_candidates_and_a_sale() -> None:
    pairs = _pairs(5)
    pairs.loc[:, "gmv"] = 0.0
    assert query_groups(pairs, Direction.PRODUCT, "gmv", 2.0).n_queries == 0
    assert query_groups(_pairs(1), Direction.PRODUCT, "gmv", 2.0).n_queries == 0
