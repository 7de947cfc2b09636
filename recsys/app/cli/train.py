"""``recsys train``: train the matching engine (or a brand-influencer model) on the store or a dataset."""

from __future__ import annotations

import time
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from recsys.app.cli._app import app, console, fail

if TYPE_CHECKING:
    from recsys.app.dask_training.source import DaskSource
    from recsys.core.config import Settings
    from recsys.core.schema import Marketplace

BRAND_PREFIX = "brand-influencer:"


class TrainEngine(StrEnum):
    memory = "memory"
    dask = "dask"


def load_market(settings: Settings, dataset: Path | None, allow_quarantine: bool = False) -> Marketplace:
    """The marketplace from a dataset directory (validated) or from the store."""
    from recsys.core.progress import stage

    if dataset is None:
        from recsys.core.store import Store

        with stage("reading the store"):
            market = Store.from_settings(settings).load_marketplace()
        if market.promotions.empty:
            raise fail("the store has no promotions; import data first (`recsys import DIR`) or pass --dataset DIR")
        return market
    from recsys.core.datasets.importer import read_dataset
    from recsys.core.datasets.validate import DatasetError

    try:
        with stage(f"reading and validating {dataset}"):
            market, result = read_dataset(dataset, settings)
    except (DatasetError, FileNotFoundError) as exc:
        raise fail(str(exc)) from exc
    bad = {t: len(f) for t, f in result.quarantined.items() if len(f)}
    if bad and not allow_quarantine:
        first = next(iter(bad))
        example = result.quarantined[first].iloc[0]
        raise fail(
            f"{sum(bad.values())} invalid rows in {dataset} ({bad}); e.g. {first} row {example['source_row']}: "
            f"{example['reason']}. Fix them, or pass --allow-quarantine to train on the valid rows only."
        )
    return market


def _train_brand(spec: str, out: Path | None, seed: int) -> None:
    from recsys.app.experiments import brand_influencer

    if out is None:
        raise fail("--out DIR is required with --dataset brand-influencer:PATH")
    path = Path(spec.removeprefix(BRAND_PREFIX))
    try:
        summary = brand_influencer.train_to_dir(path, out, seed)
    except (brand_influencer.BrandDataError, FileNotFoundError) as exc:
        raise fail(str(exc)) from exc
    table = Table(title=f"brand-influencer model -> {out}")
    table.add_column("item")
    table.add_column("value", justify="right")
    for key, value in summary.items():
        table.add_row(str(key), str(value))
    console.print(table)


@app.command(
    "train",
    epilog="Examples: recsys train | recsys train --dataset /tmp/m --seed 3 | "
    "recsys train --dataset brand-influencer:../shared/data/brand_influencer/train --out /tmp/bi | "
    "recsys train --engine dask --partitioned /data/export | "
    "recsys train --engine dask --scheduler tcp://10.0.0.5:8786 --partitioned /shared/export",
)
def train_command(
    dataset: Annotated[
        str | None,
        typer.Option(help="Dataset directory to train on instead of the store, or brand-influencer:PATH."),
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed \\[default: settings.seed].")] = None,
    out: Annotated[
        Path | None, typer.Option(help="Output folder (brand-influencer only; marketplace bundles go to artifacts/).")
    ] = None,
    allow_quarantine: Annotated[bool, typer.Option(help="Train on the valid rows of a dataset with bad rows.")] = False,
    engine_kind: Annotated[
        TrainEngine, typer.Option("--engine", help="memory: one process; dask: on a Dask cluster.")
    ] = TrainEngine.memory,
    scheduler: Annotated[
        str | None, typer.Option(help="Dask scheduler address (dask engine) \\[default: a local cluster].")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Local Dask worker processes \\[default: one per core].")
    ] = None,
    partitioned: Annotated[
        Path | None, typer.Option(help="A `recsys export --partitioned` directory to train on (dask engine).")
    ] = None,
    spill_dir: Annotated[
        Path | None,
        typer.Option(
            help="Where the dask engine writes each cutoff's feature tables for the driver and workers to map "
            "(storage every worker reads) \\[default: a temporary folder under data_dir with a local cluster; "
            "in memory, a copy per worker, with --scheduler]."
        ),
    ] = None,
) -> None:
    """Train the matching engine and make it the current bundle.

    Builds point-in-time features, trains LambdaRank rankers (creator -> products, product -> creators), the GMV
    and content distribution models on a time split with early stopping, distils them into FAISS retrieval, and
    writes artifacts/<run_id>/ with a manifest; artifacts/current then names it. A failed run leaves the previous
    bundle active.
    """
    from recsys.core.config import get_settings

    settings = get_settings()
    seed = settings.seed if seed is None else seed
    if dataset is not None and dataset.startswith(BRAND_PREFIX):
        _train_brand(dataset, out, seed)
        return
    if engine_kind is TrainEngine.dask:
        _train_dask(settings, seed, dataset, partitioned, scheduler, workers, allow_quarantine, spill_dir)
        return
    if partitioned is not None or scheduler is not None or workers is not None or spill_dir is not None:
        raise fail("--partitioned, --scheduler, --workers and --spill-dir need --engine dask")
    from models.bundle import save_bundle
    from models.training.train import train_engine

    market = load_market(settings, Path(dataset) if dataset else None, allow_quarantine)
    started = time.perf_counter()
    try:
        engine = train_engine(market, settings, seed)
    except ValueError as exc:
        raise fail(f"training failed, the previous bundle stays active: {exc}") from exc
    path = save_bundle(engine, settings.artifacts_dir, market, seed, settings.model_dump(mode="json"))
    print_train_summary(engine.metrics, path, time.perf_counter() - started)


def _dask_source(
    settings: Settings, dataset: str | None, partitioned: Path | None, scratch: Path | None, allow_quarantine: bool
) -> DaskSource:
    """Where the dask engine reads: a partitioned export, a dataset directory, or the store (exported to
    ``scratch`` first, streamed in chunks)."""
    from recsys.app.dask_training.export import DEFAULT_BUCKETS, PartitionedExportError, export_partitioned
    from recsys.app.dask_training.source import SourceError, from_market, read_partitioned
    from recsys.core.store import Store

    try:
        if partitioned is not None:
            return read_partitioned(partitioned, settings)
        if dataset is not None:
            return from_market(load_market(settings, Path(dataset), allow_quarantine), DEFAULT_BUCKETS)
        assert scratch is not None
        store = Store.from_settings(settings)
        try:
            export_partitioned(store, scratch / "export")
        finally:
            store.dispose()
        return read_partitioned(scratch / "export", settings)
    except (SourceError, PartitionedExportError, FileNotFoundError) as exc:
        raise fail(str(exc)) from exc


def _train_dask(
    settings: Settings,
    seed: int,
    dataset: str | None,
    partitioned: Path | None,
    scheduler: str | None,
    workers: int | None,
    allow_quarantine: bool,
    spill_dir: Path | None = None,
) -> None:
    """``recsys train --engine dask``: the same bundle, features and LightGBM models built on a Dask cluster.
    The feature tables are spilled to ``spill_dir`` (a local cluster: a temporary folder under ``data_dir`` by
    default), removed once the bundle is saved."""
    import tempfile
    from contextlib import ExitStack

    from models.bundle import save_bundle
    from models.training.dask_train import train_engine_dask
    from recsys.app.dask_training.cluster import dask_client
    from recsys.core.allocator import tune_allocator
    from recsys.core.progress import stage

    if dataset is not None and partitioned is not None:
        raise fail("pass --dataset or --partitioned, not both")
    if scheduler and dataset is None and partitioned is None:
        raise fail("with --scheduler, pass --partitioned DIR on storage every worker can read (or --dataset DIR)")
    # the driver builds and drops every cutoff's GB-sized arrays: without this glibc keeps what they freed
    # (`python -m bench.table_memory --size 5M` with MALLOC_* and Arrow's pool set as this sets them: 3.90 GiB of
    # RSS before the table build instead of 4.73, 4.68 after it instead of 5.30, the build 14.2 s instead of 16.7)
    tune_allocator()
    started = time.perf_counter()
    with ExitStack() as stack:
        scratch = None
        if dataset is None and partitioned is None:  # the store: exported next to it first, removed afterwards
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="dask-", dir=settings.data_dir)))
        source = _dask_source(settings, dataset, partitioned, scratch, allow_quarantine)
        with stage("starting the Dask cluster" if scheduler is None else f"joining {scheduler}"):
            client = stack.enter_context(dask_client(scheduler, workers))
        spill = None
        if spill_dir is not None or scheduler is None:  # a remote cluster's workers may not see our disk
            parent = spill_dir or settings.data_dir
            parent.mkdir(parents=True, exist_ok=True)
            spill = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="dask-tables-", dir=parent)))
        try:
            engine, digest = train_engine_dask(client, source.entities, source.promotions, settings, seed, spill)
        except ValueError as exc:
            raise fail(f"training failed, the previous bundle stays active: {exc}") from exc
        dump = settings.model_dump(mode="json")  # saved before the spilled tables the engine maps are removed
        path = save_bundle(engine, settings.artifacts_dir, source.entities, seed, dump, data_digest=digest)
    print_train_summary(engine.metrics, path, time.perf_counter() - started)


def print_train_summary(metrics: dict[str, object], path: Path, seconds: float) -> None:
    from recsys.core.vocab import DIRECTIONS

    table = Table(title=f"trained bundle {path.name}")
    table.add_column("measure")
    table.add_column("creator -> products", justify="right")
    table.add_column("product -> creators", justify="right")
    rows = [
        ("validation NDCG@10 (ranker)", "{d}_ndcg@10"),
        ("validation NDCG@10 (popularity)", "{d}_popularity_ndcg@10"),
        ("validation queries", "{d}_valid_queries"),
        ("training queries", "{d}_train_queries"),
        ("trees (early stopping)", "{d}_best_iteration"),
    ]
    recall_key = next((k for k in metrics if k.startswith("creator_recall@")), None)
    for label, key in rows:
        table.add_row(label, *(_fmt(metrics.get(key.format(d=d))) for d in DIRECTIONS))
    if recall_key:
        suffix = recall_key.removeprefix("creator_")
        table.add_row(f"retrieval {suffix}", _fmt(metrics.get(recall_key)), _fmt(metrics.get(f"product_{suffix}")))
        table.add_row(
            "FAISS index recall@100 vs exact",
            _fmt(metrics.get("product_index_recall@100")),
            _fmt(metrics.get("creator_index_recall@100")),
        )
        table.add_row(
            "FAISS index recall@candidates vs exact",
            _fmt(metrics.get("product_index_recall@candidates")),
            _fmt(metrics.get("creator_index_recall@candidates")),
        )
    console.print(table)
    sizes = metrics.get("sizes", {})
    console.print(f"data: {sizes}")
    console.print(f"bundle: {path} (now current) — {seconds:.1f}s")


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return "-" if value is None else str(value)
