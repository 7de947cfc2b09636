"""``recsys batch-recommend``: every admitted creator's product pool (or product's creator list) as Parquet."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from recsys.app.cli._app import app, console, fail


class SideChoice(StrEnum):
    CREATORS = "creators"
    PRODUCTS = "products"


class EngineChoice(StrEnum):
    LOCAL = "local"
    DASK = "dask"


_EXAMPLES = (
    "Examples:\n\n"
    "recsys batch-recommend --side creators --out exports/pools-2026-w49\n\n"
    "recsys batch-recommend --side products --out exports/creators-w49 --engine dask --workers 2 --k 50\n\n"
    "Read it with pandas.read_parquet(DIR) (the _SUCCESS file is the run's JSON manifest)."
)


@app.command("batch-recommend", epilog=_EXAMPLES)
def batch_recommend(
    side: Annotated[
        SideChoice,
        typer.Option(help="creators: every admitted creator's product pool; products: every product's creators."),
    ],
    out: Annotated[Path, typer.Option(help="Output folder (must not exist unless --overwrite).", metavar="DIR")],
    engine: Annotated[
        EngineChoice, typer.Option(help="local: in this process; dask: on a Dask cluster.")
    ] = EngineChoice.LOCAL,
    scheduler: Annotated[
        str | None,
        typer.Option(metavar="ADDRESS", help="An existing Dask scheduler (tcp://host:8786); default: a local cluster."),
    ] = None,
    k: Annotated[
        int | None, typer.Option(min=1, help="Items per list (default serving.default_k, as the API).")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Workers of the local Dask cluster (default: one per core).")
    ] = None,
    chunk: Annotated[int, typer.Option(min=1, help="Query ids per Parquet partition (at most).")] = 500,
    overwrite: Annotated[
        bool, typer.Option(help="Replace DIR if it exists (only once the new run is complete).")
    ] = False,
) -> None:
    """Write the API's default lists (GET /v1/creators/{id}/products or GET /v1/products/{id}/creators, first
    page of k) for every admitted creator or product as partitioned Parquet under DIR — one row per (query, rank)
    with plan, commission rate, predicted GMV and its interval, expected earnings and the existing flag — for weekly
    pushes and offline analysis. The matcher is built as `recsys serve` builds it (current bundle, the store now).
    Output is written to a temporary folder and renamed into place; `_SUCCESS` (the manifest) is written last."""
    from recsys.app.batch import BatchError, BatchOptions, run_batch
    from recsys.core.config import get_settings
    from serving.offline_state import open_scoring_inputs

    if scheduler and engine is not EngineChoice.DASK:
        raise fail("--scheduler: only with --engine dask")
    options = BatchOptions(
        side=side.value,
        out=out,
        engine="dask" if engine is EngineChoice.DASK else "local",
        k=k,
        chunk=chunk,
        workers=workers,
        scheduler=scheduler,
        overwrite=overwrite,
    )
    try:
        manifest = run_batch(get_settings(), options, open_scoring_inputs)
    except BatchError as exc:
        raise fail(f"{exc}; nothing was written") from exc
    except Exception as exc:
        raise fail(f"batch scoring failed ({type(exc).__name__}: {exc}); nothing was written") from exc
    console.print(
        f"wrote {manifest.rows:,} rows for {manifest.queries_with_items:,} of {manifest.queries:,} admitted "
        f"{manifest.side} (k={manifest.k}) in {manifest.partitions} partitions to {out} — bundle {manifest.run_id}, "
        f"store revision {manifest.store_revision}, engine {manifest.engine} ({manifest.workers} worker(s)), "
        f"{manifest.elapsed_seconds:.1f} s"
    )
