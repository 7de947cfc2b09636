"""``recsys experiment`` and ``recsys compare``: reproducible offline runs and their paired comparison.

Heavy imports (pandas, matplotlib, the adapters) happen inside the commands: ``recsys --help`` stays instant.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, get_args

import typer

from recsys.app.cli._app import app, console, err_console, fail

_DATASETS = "synthetic, amazon-beauty, ml-100k, brand-influencer (and demo: a tiny framework demo)"
_PROTOCOLS = (
    "synthetic: ranking (default; logged test window and full eligible catalogue) or market (weekly rounds of a "
    "simulated marketplace with creator capacity and product samples, against an allocation oracle); "
    "brand-influencer: brand-disjoint (default; 5 folds) or creator-disjoint (4 folds whose held-out brands rank "
    "~825 creators none of which is in the training pairs, like the hidden test)"
)

EXPERIMENT_HELP = (
    "Run an offline ranking experiment and write [bold]runs/<run_id>/[/].\n\n"
    "Every run ranks with the full pipeline and honest baselines under the dataset's published protocol and "
    "writes config.json (resolved config, seed, data dir and file hashes, git commit, library versions), "
    "metrics.json, per_query/<method>.parquet, report.md and PNG plots (metric at k, per category, exposure "
    "across the long tail). The results table is printed; the last line is the run directory. The same seed "
    "gives the same metrics.json.\n\n"
    f"Datasets: {_DATASETS}.\n\n"
    f"Protocols (--protocol, where a dataset has several): {_PROTOCOLS}.\n\n"
    "[bold]Examples[/]\n\n"
    "  recsys experiment --dataset ml-100k\n\n"
    "  recsys experiment -d synthetic --protocol market\n\n"
    "  recsys experiment -d brand-influencer --protocol creator-disjoint --seed 0\n\n"
    "  recsys experiment -d brand-influencer --seed 1 --data-dir ../shared/data\n\n"
    "  recsys experiment -d demo --config my.toml     [dim]# my.toml: n_users = 100[/]\n\n"
    "  recsys experiment -d demo --config runs/<run_id>/config.json   [dim]# repeat[/]\n"
)

COMPARE_HELP = (
    "Compare two runs side by side: A, B, B−A and a paired bootstrap 95% CI per method and metric.\n\n"
    "Queries are paired by (seed, query) across the two runs; the interval is the percentile bootstrap of "
    "the mean per-query difference (B − A) over the paired queries. An interval that excludes 0 is marked ↑ "
    "(B higher) or ↓ (B lower). Warns when the runs used different datasets or protocols and lists their "
    "config differences.\n\n"
    "[bold]Examples[/]\n\n"
    "  recsys compare runs/<run_id_a> runs/<run_id_b>\n\n"
    "  recsys compare RUN_A RUN_B --metric ndcg@10 -m recall@10 --method item-kNN\n\n"
    "  recsys compare RUN_A RUN_B --resamples 10000 --seed 1\n\n"
    "  recsys compare RUN RUN --against retrieval-only --method 'full pipeline'   (two methods of one run)\n"
)


@app.command("experiment", help=EXPERIMENT_HELP, no_args_is_help=True)
def experiment(
    dataset: Annotated[
        str,
        typer.Option("--dataset", "-d", help=f"Dataset: {_DATASETS}.", show_default=False),
    ],
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="TOML or JSON file whose keys override the adapter's config fields (unknown keys are an "
            "error), or a run's config.json to repeat it.",
        ),
    ] = None,
    protocol: Annotated[
        str | None,
        typer.Option(
            "--protocol",
            "-p",
            help="Evaluation protocol, for datasets that have several (the config field protocol; overrides "
            "--config): synthetic ranking | market, brand-influencer brand-disjoint | creator-disjoint (see above).",
            show_default=False,
        ),
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed. \\[default: settings.seed]")] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Folder of the public datasets (read only). \\[default: settings.shared_data_dir]"),
    ] = None,
    runs_dir: Annotated[
        Path | None, typer.Option(help="Where runs/<run_id>/ is written. \\[default: settings.runs_dir]")
    ] = None,
) -> None:
    from recsys.app.experiments.framework.registry import AdapterError, available_datasets, get_adapter
    from recsys.app.experiments.framework.rundir import ResultError
    from recsys.app.experiments.framework.runner import ConfigError, load_overrides, run_experiment
    from recsys.core.config import get_settings

    if dataset not in available_datasets():
        raise fail(f"unknown dataset {dataset!r}; choose one of: {', '.join(available_datasets())}")
    settings = get_settings()
    seed = settings.seed if seed is None else seed
    data_dir = data_dir or settings.shared_data_dir
    runs_dir = runs_dir or settings.runs_dir
    try:
        overrides = load_overrides(config) if config is not None else {}
        if protocol is not None:
            overrides["protocol"] = _checked_protocol(get_adapter(dataset), dataset, protocol)
        output = run_experiment(dataset, seed, data_dir, runs_dir, overrides)
    except (AdapterError, ConfigError, ResultError) as exc:
        raise fail(str(exc)) from exc
    except FileNotFoundError as exc:
        raise fail(f"{exc} (data dir: {data_dir}; set --data-dir or RECSYS_SHARED_DATA_DIR)") from exc
    _print_run(output)


def _checked_protocol(adapter: Any, dataset: str, protocol: str) -> str:
    """``protocol`` if the dataset's Config has a ``protocol`` field that accepts it; a clear error otherwise."""
    field = adapter.Config.model_fields.get("protocol")
    if field is None:
        raise fail(f"dataset {dataset!r} has a single protocol (its config has no protocol field); drop --protocol")
    valid = [str(v) for v in get_args(field.annotation)]
    if valid and protocol not in valid:
        raise fail(f"unknown protocol {protocol!r} for dataset {dataset!r}; choose one of: {', '.join(valid)}")
    return protocol


def _print_run(output: object) -> None:
    from recsys.app.experiments.framework.report import print_frame, published_frame, results_frame
    from recsys.app.experiments.framework.runner import RunOutput

    assert isinstance(output, RunOutput)
    result = output.result
    title = f"{result.dataset} (primary metric: {result.primary_metric})"
    print_frame(console, results_frame(result), title)
    published = published_frame(result)
    if published is not None:
        print_frame(console, published, "published results, same protocol (last row: ours)")
    for name, value in result.extra_metrics.items():
        console.print(f"  {name}: {value:.4g}")
    console.print(f"report: {output.run_dir / 'report.md'}", soft_wrap=True, highlight=False)
    console.print(f"run dir: {output.run_dir}", soft_wrap=True, highlight=False)


@app.command("compare", help=COMPARE_HELP, no_args_is_help=True)
def compare(
    run_a: Annotated[Path, typer.Argument(metavar="RUN_A", help="Run directory A (the baseline), e.g. runs/<run_id>.")],
    run_b: Annotated[Path, typer.Argument(metavar="RUN_B", help="Run directory B (the candidate).")],
    metric: Annotated[
        list[str] | None,
        typer.Option("--metric", "-m", help="Metric to compare (repeatable). \\[default: all in common]"),
    ] = None,
    method: Annotated[
        list[str] | None,
        typer.Option("--method", help="Method to compare (repeatable). \\[default: all in common]"),
    ] = None,
    against: Annotated[
        str | None,
        typer.Option(
            "--against",
            help="Compare B's methods (or each --method) with this method of A instead of each with itself; "
            "give one run twice to compare two methods of one run on the same queries.",
        ),
    ] = None,
    resamples: Annotated[int, typer.Option(min=1, help="Bootstrap resamples.")] = 2000,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap.")] = 0,
) -> None:
    from recsys.app.experiments.framework.compare import CompareError, compare_runs, comparison_frame
    from recsys.app.experiments.framework.report import print_frame
    from recsys.app.experiments.framework.rundir import RunDirError

    try:
        comparison = compare_runs(
            run_a, run_b, metrics=metric, methods=method, resamples=resamples, seed=seed, against=against
        )
    except (RunDirError, CompareError, KeyError) as exc:
        raise fail(str(exc).strip("'\"")) from exc
    for label, run in (("A", comparison.run_a), ("B", comparison.run_b)):
        commit = ((run.config.get("git") or {}).get("commit") or "?")[:10]
        seed_of_run = run.config.get("seed")
        console.print(f"[bold]{label}[/]: {run.path}  dataset={run.dataset} seed={seed_of_run} git={commit}")
    for warning in comparison.warnings:
        err_console.print(f"[yellow]warning:[/] {warning}")
    if comparison.config_diff:
        console.print("config differences (A -> B):")
        for key, (a, b) in comparison.config_diff.items():
            console.print(f"  {key}: {a!r} -> {b!r}")
    frame = comparison_frame(comparison).set_index("method")
    title = f"B − A with paired bootstrap 95% CI ({resamples} resamples, seed {seed})"
    print_frame(console, frame, title)
