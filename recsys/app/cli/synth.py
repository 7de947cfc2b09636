"""``recsys generate``: write a synthetic marketplace dataset directory."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from recsys.app.cli._app import app, console, fail


@app.command(
    "generate",
    epilog=("Example: recsys generate --out /tmp/m --creators 2000 --products 10000 --seed 1 && recsys import /tmp/m"),
)
def generate_command(
    out: Annotated[
        Path, typer.Option("--out", help="Directory to write (created; existing table files are replaced).")
    ],
    creators: Annotated[int, typer.Option(help="Number of creators.", min=10)] = 2000,
    products: Annotated[int, typer.Option(help="Number of products.", min=10)] = 10_000,
    promotions: Annotated[
        int | None, typer.Option(help="Number of promotions \\[default: 50 per creator].", min=0)
    ] = None,
    merchants: Annotated[
        int | None, typer.Option(help="Number of merchants \\[default: products / 25].", min=2)
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same bytes.")] = 0,
    as_of: Annotated[datetime, typer.Option("--as-of", help="The marketplace's 'now' (history ends here).")] = datetime(
        2026, 6, 30
    ),
    history_days: Annotated[int, typer.Option(help="Days of promotion history.", min=30)] = 180,
    fmt: Annotated[str, typer.Option("--format", help="parquet or csv.")] = "parquet",
    orders: Annotated[
        bool, typer.Option("--orders/--no-orders", help="Write the orders table (one row per order).")
    ] = True,
) -> None:
    """Generate a synthetic marketplace with a hidden ground truth.

    Realistic by construction: power-law followers across fan tiers, 16 categories with log-normal prices,
    commission 5–30%, new and below-threshold merchants, creators without showcase or deposit, open / exclusive /
    targeted / tiered plans, promotions biased toward popular products, orders with refunds. Outcomes follow a hidden
    funnel (audience overlap, category affinity, price fit, engagement, commission, rating, hidden taste, noise); the
    truth is written to DIR/ground_truth/ for oracle comparisons and is ignored by `recsys import`. 5% of the
    creators bought followers or views: their observed counts are inflated, their sales are not (who bought what:
    DIR/ground_truth/fake_engagement.parquet; docs/integrity.md).
    """
    from recsys.core.progress import stage
    from recsys.core.synth import SynthConfig, generate, write_synthetic

    if fmt not in ("parquet", "csv"):
        raise fail(f"--format must be parquet or csv, not {fmt!r}")
    try:
        config = SynthConfig(
            creators=creators,
            products=products,
            promotions=promotions,
            merchants=merchants,
            seed=seed,
            as_of=as_of,
            history_days=history_days,
            with_orders=orders,
        )
    except ValueError as exc:
        raise fail(str(exc)) from exc
    started = time.perf_counter()
    with stage(f"generating {creators:,} creators x {products:,} products"):
        synthetic = generate(config)
    with stage(f"writing {out}"):
        sizes = write_synthetic(synthetic, out, fmt)  # type: ignore[arg-type]
    table = Table(title=f"synthetic marketplace -> {out}")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, n in sizes.items():
        table.add_row(name, f"{n:,}")
    console.print(table)
    console.print(f"done in {time.perf_counter() - started:.1f}s (seed {seed})")
