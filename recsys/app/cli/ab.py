"""``recsys ab report|list|stop``: online A/B experiments (started with ``PUT /v1/admin/experiments/{name}``).

The report reads the store's exposure counters and the events that named an arm, and compares every arm with the
first (the baseline) with 95% confidence intervals from statsmodels (``recsys.core.experiment_stats``).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from typing import Annotated, Any

import typer

from recsys.app.cli._app import app, console, fail

ab_app = typer.Typer(help="Online A/B experiments of bundles and settings: report, list, stop.", no_args_is_help=True)
app.add_typer(ab_app, name="ab")


def _interval(value: float, low: float, high: float, digits: int) -> str:
    if math.isnan(value):
        return "-"
    return f"{value:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def _jsonable(value: Any) -> Any:
    """NaN (an arm without exposures) becomes null in JSON."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


@ab_app.command("report", epilog="Example: recsys ab report earnings-blend-0.6 [--json]")
def ab_report(
    experiment: Annotated[str, typer.Argument(help="The experiment's name.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON instead of tables.")] = False,
) -> None:
    """Per arm: lists served, exposures (items shown), orders, conversion (orders per exposure), GMV and
    commission per exposure, each with its 95% confidence interval; then each arm minus the first arm with the
    interval of the difference (an interval that excludes 0 is a real difference at the 5% level)."""
    from recsys.core.config import get_settings
    from recsys.core.experiment_stats import compare, summarize
    from recsys.core.store import Store
    from serving import experiment_store

    store = Store.from_settings(get_settings())
    try:
        stored = experiment_store.get_experiment(store, experiment)
        if stored is None:
            raise fail(f"no experiment {experiment!r} (recsys ab list)")
        data = experiment_store.arm_data(store, stored.spec)
    finally:
        store.dispose()
    summaries = [summarize(d) for d in data]
    differences = [compare(d, data[0]) for d in data[1:]]
    if as_json:
        report = {
            "experiment": experiment,
            "status": stored.status.value,
            "arms": [asdict(s) for s in summaries],
            "differences": [asdict(d) for d in differences],
        }
        print(json.dumps(_jsonable(report), indent=2))
        return
    _print_tables(experiment, stored.status.value, summaries, differences)


def _print_tables(name: str, status: str, summaries: list[Any], differences: list[Any]) -> None:
    from rich.table import Table

    arms = Table(title=f"experiment {name} ({status}): per arm, 95% intervals")
    for col in ("arm", "lists", "exposures", "orders", "conversion", "GMV / exposure", "commission / exposure"):
        arms.add_column(col, justify="left" if col == "arm" else "right")
    for s in summaries:
        arms.add_row(
            s.arm,
            f"{s.requests:,}",
            f"{s.exposures:,}",
            f"{s.orders:,}",
            _interval(s.conversion.value, s.conversion.low, s.conversion.high, 4),
            _interval(s.gmv_per_exposure.value, s.gmv_per_exposure.low, s.gmv_per_exposure.high, 2),
            _interval(
                s.commission_per_exposure.value, s.commission_per_exposure.low, s.commission_per_exposure.high, 2
            ),
        )
    console.print(arms)
    diff = Table(title="difference with the first arm, 95% intervals")
    for col in ("arm − baseline", "conversion", "GMV / exposure", "commission / exposure"):
        diff.add_column(col, justify="left" if col == "arm − baseline" else "right")
    for d in differences:
        diff.add_row(
            f"{d.arm} − {d.baseline}",
            _interval(d.conversion.value, d.conversion.low, d.conversion.high, 4),
            _interval(d.gmv_per_exposure.value, d.gmv_per_exposure.low, d.gmv_per_exposure.high, 2),
            _interval(
                d.commission_per_exposure.value, d.commission_per_exposure.low, d.commission_per_exposure.high, 2
            ),
        )
    console.print(diff)


@ab_app.command("list")
def ab_list() -> None:
    """Every experiment: status, lists split, arms with their weights and what they serve."""
    from rich.table import Table

    from recsys.core.config import get_settings
    from recsys.core.store import Store
    from serving import experiment_store

    store = Store.from_settings(get_settings())
    try:
        experiments = experiment_store.list_experiments(store)
    finally:
        store.dispose()
    table = Table(title="A/B experiments")
    for col in ("name", "status", "lists", "arms", "started (UTC)"):
        table.add_column(col)
    for e in experiments:
        arms = "; ".join(
            f"{a.name} {a.weight:g}"
            + (f" bundle={a.bundle}" if a.bundle else "")
            + (f" {a.settings}" if a.settings else "")
            for a in e.spec.arms
        )
        lists = ", ".join(sorted(e.spec.endpoints))
        table.add_row(e.spec.name, e.status.value, lists, arms, f"{e.started_at:%Y-%m-%d %H:%M:%S}")
    console.print(table)


@ab_app.command("stop", epilog="Example: recsys ab stop earnings-blend-0.6")
def ab_stop(experiment: Annotated[str, typer.Argument(help="The experiment's name.")]) -> None:
    """Stop an experiment: running services return its lists to the live model within a second (their background
    check); its counters and events stay for the report."""
    from recsys.core.config import get_settings
    from recsys.core.store import Store, now_utc
    from serving import experiment_store

    store = Store.from_settings(get_settings())
    try:
        stored = experiment_store.stop_experiment(store, experiment, now_utc())
    finally:
        store.dispose()
    if stored is None:
        raise fail(f"no experiment {experiment!r} (recsys ab list)")
    console.print(f"experiment {experiment} is {stored.status.value}")
