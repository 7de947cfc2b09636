"""``recsys export --partitioned``: the store's tables as partitioned Parquet (promotions by creator-hash bucket,
orders by month) that read back, through the Dask training source, to exactly the store's rows."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, Path, object]:
    from recsys.core.config import Settings
    from recsys.core.datasets.importer import import_dataset
    from recsys.core.store import Store
    from recsys.core.synth import SynthConfig, generate, write_synthetic

    root = tmp_path_factory.mktemp("partitioned")
    write_synthetic(generate(SynthConfig(creators=40, products=80, promotions=1500, seed=3)), root / "dataset")
    settings = Settings(database_url=f"sqlite:///{root / 'store.db'}", data_dir=root / "data")
    store = Store.from_settings(settings)
    store.create_schema()
    import_dataset(store, root / "dataset", settings, progress=False)
    return store, root / "export", settings


def _export(store: object, out: Path, buckets: int) -> object:
    from recsys.app.dask_training.export import export_partitioned

    return export_partitioned(store, out, buckets)  # type: ignore[arg-type]


def test_promotions_are_cut_by_creator_and_read_back_unchanged(exported) -> None:  # type: ignore[no-untyped-def]
    from recsys.app.dask_training.source import read_partitioned

    store, out, settings = exported
    summary = _export(store, out, buckets=4)
    market = store.load_marketplace()
    assert summary.rows["promotions"] == len(market.promotions) > 0  # type: ignore[attr-defined]
    assert sorted(p.name for p in (out / "promotions").iterdir()) == [f"bucket={b:03d}.parquet" for b in range(4)]
    source = read_partitioned(out, settings)
    assert source.partitions == 4
    parts = [p.compute() for p in source.promotions.to_delayed()]
    owners = [set(p["creator_id"]) for p in parts]
    assert sum(len(o) for o in owners) == len(set().union(*owners))  # every creator lives in one partition only
    back = pd.concat(parts).sort_values("promotion_id").reset_index(drop=True)
    want = market.promotions.sort_values("promotion_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(back[want.columns], want, check_dtype=False)
    for name in ("creators", "products", "merchants", "plans"):
        assert len(source.entities.table(name)) == len(market.table(name)), name


def test_sample_requests_travel_with_the_export_and_keep_their_content_promotions(exported) -> None:  # type: ignore[no-untyped-def]
    from recsys.app.dask_training.source import read_partitioned

    store, out, settings = exported
    summary = _export(store, out, buckets=4)
    want = store.load_marketplace().sample_requests  # type: ignore[attr-defined]
    assert len(want) > 0 and want["content_promotion_id"].notna().any()  # the synthetic world has some, with content
    assert summary.rows["sample_requests"] == len(want)  # type: ignore[attr-defined]
    got = read_partitioned(out, settings).entities.sample_requests
    assert all(got[c].dtype == "str" for c in ("request_id", "creator_id", "product_id", "content_promotion_id"))
    for column in got.columns:  # the driver keeps the ids as Arrow strings (missing: NaN); as objects, None
        if got[column].dtype == "str":
            got[column] = got[column].astype(object).where(got[column].notna(), None)
    key = "request_id"
    pd.testing.assert_frame_equal(
        got.sort_values(key).reset_index(drop=True), want.sort_values(key).reset_index(drop=True), check_dtype=False
    )  # none quarantined: each content promotion was found in its bucket


def test_orders_are_cut_by_month(exported) -> None:  # type: ignore[no-untyped-def]
    store, out, _ = exported
    _export(store, out, buckets=2)
    orders = store.load_marketplace().orders
    files = sorted((out / "orders").glob("month=*.parquet"))
    assert [f.stem for f in files] == sorted({f"month={m}" for m in orders["created_at"].dt.strftime("%Y-%m")})
    back = pd.concat(pd.read_parquet(f) for f in files)
    assert sorted(back["order_id"]) == sorted(orders["order_id"])


def test_a_foreign_directory_is_refused_and_an_old_export_replaced(exported, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from recsys.app.cli import app

    store, out, settings = exported
    (tmp_path / "notes.txt").write_text("mine")
    env = {"RECSYS_DATABASE_URL": settings.database_url}
    result = CliRunner().invoke(app, ["export", "--partitioned", str(tmp_path)], env=env)
    assert result.exit_code != 0 and "partitioned.json" in result.output
    assert (tmp_path / "notes.txt").read_text() == "mine"
    _export(store, out, buckets=3)
    result = CliRunner().invoke(app, ["export", "--partitioned", str(out), "--buckets", "2"], env=env)
    assert result.exit_code == 0, result.output
    assert len(list((out / "promotions").iterdir())) == 2


def test_invalid_entity_rows_are_refused_with_their_count(tmp_path: Path) -> None:
    """The entity tables are validated in a child process (the driver keeps only the frames); a bad row still
    stops the read with a clear error naming the table and the count."""
    from recsys.app.dask_training.export import partition_dataset
    from recsys.app.dask_training.source import SourceError, read_partitioned
    from recsys.core.config import Settings
    from recsys.core.datasets.io import write_dataset
    from recsys.core.synth import SynthConfig, generate

    market = generate(SynthConfig(creators=40, products=120, promotions=600, seed=2)).market
    market.products.loc[3, "price"] = -5.0  # quarantined, and the plans and sample requests naming the product
    write_dataset(market, tmp_path / "dataset")
    partition_dataset(tmp_path / "dataset", tmp_path / "export", buckets=2)
    with pytest.raises(SourceError, match=r"invalid entity rows .*'products': 1.*fix them first"):
        read_partitioned(tmp_path / "export", Settings())
