"""``recsys settle [--as-of DATE]``: close a settlement period (confirmed orders past their after-sale window)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from recsys.app.cli._app import app, console, fail


def _as_of(text: str | None) -> datetime:
    """``--as-of`` as naive UTC (a date means its midnight UTC; times without a zone are UTC); default now."""
    if text is None:
        return datetime.now(UTC).replace(tzinfo=None)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise fail(f"--as-of: {text!r} is not a date or time (use e.g. 2026-07-01 or 2026-07-01T18:00:00Z)") from None
    return value if value.tzinfo is None else value.astimezone(UTC).replace(tzinfo=None)


@app.command(
    "settle",
    epilog="Example: recsys settle --as-of 2026-07-01   (then creators see the money as `paid` and can withdraw)",
)
def settle_command(
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            metavar="DATE",
            help="Settle what is due at this date/time (ISO 8601, UTC when no zone is given). Default: now.",
        ),
    ] = None,
    top: Annotated[int, typer.Option(min=0, help="Creators listed in the summary (largest amounts first).")] = 10,
) -> None:
    """Settle every confirmed, non-refunded order whose after-sale window (rules.after_sale_days, default 15) ended
    by --as-of: its commission is paid into the creator's balance (withdrawable through
    POST /v1/creators/{id}/withdrawals). One transaction; running it again settles nothing new. Prints the orders
    settled, the amount (exact, CNY) and the count per creator."""
    from recsys.core.config import get_settings
    from recsys.core.store import Store
    from serving.ledger_store import settle_orders

    when = _as_of(as_of)
    settings = get_settings()
    store = Store.from_settings(settings)
    try:
        run = settle_orders(store, when, settings)
    finally:
        store.dispose()
    console.print(
        f"settled {run.orders} orders as of {when:%Y-%m-%d %H:%M:%S} UTC: {run.amount:.2f} CNY commission "
        f"for {len(run.per_creator)} creators" + ("" if run.revision is None else f" (store revision {run.revision})")
    )
    if not run.orders:
        console.print("nothing was due (already settled, refunded, unconfirmed or still in the after-sale window)")
        return
    from rich.table import Table

    table = Table(title="per creator")
    for column in ("creator", "orders", "commission (CNY)"):
        table.add_column(column, justify="left" if column == "creator" else "right")
    ranked = sorted(run.per_creator.items(), key=lambda kv: (-kv[1][1], kv[0]))
    for creator_id, (count, amount) in ranked[:top]:
        table.add_row(creator_id, str(count), f"{amount:.2f}")
    if len(ranked) > top:
        table.add_row(f"... {len(ranked) - top} more", "", "")
    console.print(table)
