"""History aggregates on Dask workers: on a 2-worker local cluster, on the fixture marketplace (the data of the
session's fixture bundle, without its training), the feature tables built from the workers' per-creator,
per-product and per-pair aggregates equal the in-memory path's at two cutoffs — integer, boolean and code arrays
exactly, float arrays to float rounding (sums added in another order) — and the driver's market holds no promotion.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from features.tables import FeatureTables, build_feature_tables

CF_FACTORS, SEED = 8, 1


@pytest.fixture(scope="module")
def both() -> list[tuple[FeatureTables, FeatureTables]]:
    from distributed import Client, LocalCluster

    from models.training.dask_windows import dask_tables
    from recsys.app.dask_training.source import from_market
    from recsys.core.synth import SynthConfig, generate

    market = generate(SynthConfig(creators=300, products=1200, promotions=15_000, seed=5)).market
    end = pd.Timestamp(market.promotions["started_at"].max()).normalize()
    cutoffs = [end - pd.Timedelta(days=45), end + pd.Timedelta(days=1)]
    source = from_market(market, buckets=4)
    assert source.entities.promotions.empty  # the driver's tables: entities only
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
    with cluster, Client(cluster) as client:
        dask = dask_tables(client, source.entities, source.promotions, cutoffs, 100, CF_FACTORS, SEED)
    memory = [build_feature_tables(market, cutoff, 100, CF_FACTORS, SEED) for cutoff in cutoffs]
    return list(zip(memory, dask, strict=True))


def _same(name: str, a: Any, b: Any) -> None:
    a, b = np.asarray(a), np.asarray(b)
    assert (a.dtype, a.shape) == (b.dtype, b.shape), name
    if a.dtype.kind == "f":
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, equal_nan=True, err_msg=name)
    else:
        np.testing.assert_array_equal(a, b, err_msg=name)


def test_dask_feature_tables_equal_the_in_memory_ones(both: list[tuple[FeatureTables, FeatureTables]]) -> None:
    for memory, dask in both:
        assert dask.cutoff == memory.cutoff
        assert list(dask.creators.ids) == list(memory.creators.ids)
        assert list(dask.products.ids) == list(memory.products.ids)
        assert dask.feature_names == memory.feature_names and dask.categories == memory.categories
        _same("creator", memory.creator, dask.creator)
        _same("product", memory.product, dask.product)
        assert sorted(dask.arrays) == sorted(memory.arrays)
        for name in memory.arrays:
            _same(name, memory.arrays[name], dask.arrays[name])


def test_the_cutoffs_see_different_histories(both: list[tuple[FeatureTables, FeatureTables]]) -> None:
    """The comparison above is not between empty histories: pairs and sales exist and grow with the cutoff."""
    (early, _), (late, _) = both
    assert 0 < len(early.arrays["pair_keys"]) < len(late.arrays["pair_keys"])
    column = early.product_names.index("p_promotions_all")
    assert 0 < early.product[:, column].sum() < late.product[:, column].sum()
    assert np.isfinite(late.arrays["product_typical_promoter"]).any()


@pytest.mark.parametrize("on_disk", [True, False], ids=["written", "persisted"])
def test_the_product_shuffle_keeps_every_promotion_and_each_product_in_one_partition(tmp_path, on_disk) -> None:  # type: ignore[no-untyped-def]
    """The product side is final per partition only if no product spans two partitions of the shuffled copy."""
    from distributed import Client, LocalCluster

    from models.training.dask_history import PRODUCT_SIDE_COLUMNS, product_buckets
    from recsys.app.dask_training.source import from_market
    from recsys.core.synth import SynthConfig, generate

    market = generate(SynthConfig(creators=80, products=300, promotions=3_000, seed=2)).market
    source = from_market(market, buckets=4)
    with LocalCluster(n_workers=1, processes=False, dashboard_address=":0") as cluster, Client(cluster):
        shuffled = product_buckets(source.promotions, tmp_path / "by-product" if on_disk else None)
        parts = [part.compute() for part in shuffled.to_delayed()]
    assert len(parts) == 4 and sum(len(p) > 0 for p in parts) > 1  # spread, not one partition
    owner = pd.concat([pd.DataFrame({"product_id": p["product_id"], "part": i}) for i, p in enumerate(parts)])
    assert owner.groupby("product_id")["part"].nunique().max() == 1
    keys = ["creator_id", "product_id", "started_at", "views", "gmv"]
    got = pd.concat(parts)[PRODUCT_SIDE_COLUMNS].sort_values(keys, kind="stable").reset_index(drop=True)
    want = market.promotions[PRODUCT_SIDE_COLUMNS].sort_values(keys, kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
