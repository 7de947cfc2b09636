"""Feature tables spilled to disk for Dask training: read back memory-mapped, they give the vectors the tables in
memory give; the driver's copy keeps its id vocabularies; a worker's handle opens each cutoff once and reads the id
lists once for all cutoffs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.tables import build_feature_tables


def test_spilled_tables_are_mapped_and_give_the_same_vectors(tmp_path: Path) -> None:
    from models.training.table_spill import TablesOnDisk, forget, spill_tables
    from recsys.core.synth import SynthConfig, generate

    market = generate(SynthConfig(creators=60, products=200, promotions=1_500, seed=3)).market
    end = pd.Timestamp(market.promotions["started_at"].max()).normalize()
    tables = [build_feature_tables(market, end - pd.Timedelta(days=d), 100, 4, 1) for d in (30, 0)]
    spilled = [spill_tables(t, tmp_path, k) for k, t in enumerate(tables)]
    rng = np.random.default_rng(0)
    c, p = rng.integers(0, 60, 500), rng.integers(0, 200, 500)
    for k, (memory, disk) in enumerate(zip(tables, spilled, strict=True)):
        assert (tmp_path / f"cutoff-{k}" / "product.npy").exists()
        assert isinstance(disk.product.base, np.memmap) and isinstance(disk.arrays["pair_keys"].base, np.memmap)
        assert disk.creators is memory.creators and disk.products is memory.products  # one copy of the ids
        assert disk.cutoff == memory.cutoff and disk.feature_names == memory.feature_names
        np.testing.assert_array_equal(disk.vectors(c, p), memory.vectors(c, p))
        handle = TablesOnDisk.at(tmp_path, k)
        opened = handle.open()
        assert opened is handle.open()  # once per process
        np.testing.assert_array_equal(opened.vectors(c, p), memory.vectors(c, p))
        assert list(opened.products.ids) == list(memory.products.ids)
    first, second = (TablesOnDisk.at(tmp_path, k).open() for k in range(2))
    assert first.products is second.products  # a worker reads the id lists once for every cutoff
    forget()  # what training runs on the workers once it no longer reads the tables: mapped afresh next time
    assert TablesOnDisk.at(tmp_path, 0).open() is not first


def test_later_cutoffs_share_the_first_cutoffs_ids_and_refuse_other_ids(tmp_path: Path) -> None:
    """What the Dask driver does with every cutoff after the first: one copy of the ids for the whole run."""
    from models.training.table_spill import spill_tables
    from recsys.core.synth import SynthConfig, generate
    from recsys.core.vocab import Vocabulary

    market = generate(SynthConfig(creators=60, products=200, promotions=1_500, seed=3)).market
    end = pd.Timestamp(market.promotions["started_at"].max()).normalize()
    early, late = (build_feature_tables(market, end - pd.Timedelta(days=d), 100, 4, 1) for d in (30, 0))
    first = spill_tables(early, tmp_path, 0)
    second = spill_tables(late, tmp_path, 1, vocabularies=(first.creators, first.products))
    assert second.creators is first.creators and second.products is first.products
    assert late.products is not first.products  # built with its own: the spill is what makes them one
    others = Vocabulary(list(reversed(list(first.products.ids))))
    with pytest.raises(ValueError, match="cutoff 2's tables do not have the ids"):
        spill_tables(late, tmp_path, 2, vocabularies=(first.creators, others))
