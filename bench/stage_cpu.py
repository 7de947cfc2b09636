"""Where an in-process list's CPU goes, by stage (issue 20, item 1): the matcher answers top-50 lists for sampled
queries of both directions, and each stage's CPU time (``time.process_time``, inclusive of what it calls) is summed
over the lists; printed as ms per list next to the whole list's CPU.

    python -m bench.stage_cpu --scale 1                       # the working tree on the workspace's current bundle
    python -m bench.stage_cpu --scale 1 --no-stages           # whole lists only (no timing wrappers)
    cd /tmp/base && PYTHONPATH=$PWD python -m bench.stage_cpu --scale 1 --no-stages --artifacts DIR

The last form is a before/after: another code tree (e.g. ``git archive REV | tar -x -C /tmp/base``, with
``bench/out`` linked to this one's) on another bundle (``--artifacts``: an artifacts folder whose ``current`` names
it). Alternate the two a few times and compare medians: the machine is shared and noisy. Figures, not tests.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib
import os
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from bench import data, inprocess
from bench.request_cpu import OUT
from recsys.core.vocab import DIRECTIONS

# (module, class or None for a module function, attribute, label); a stage the code tree lacks is left out
STAGES: tuple[tuple[str, str | None, str, str], ...] = (
    ("models.retrieval.retriever", "Retriever", "candidates", "retrieval (FAISS)"),
    ("models.matching.candidates", "CandidateFinder", "_resolve", "plan resolution of the retrieved pairs"),
    ("models.matching.candidates", "CandidateFinder", "find_resolved", "candidates (retrieval + resolution)"),
    ("models.matching.matcher", "Matcher", "_joinable", "joinable pairs"),
    ("features.tables", "FeatureTables", "vectors", "feature gathering"),
    ("models.gbm.ranker", "LambdaRanker", "predict", "ranker"),
    ("models.matching.scoring", "PairScorer", "score", "scoring (features + ranker)"),
    ("models.matching.outcomes", "OutcomePredictor", "predict", "outcomes (GMV model, money)"),
    ("models.gbm.distribution", "DistributionModel", "gpm_and_weight", "page: distribution model"),
    ("models.gbm.base", "BoostedTrees", "leaves", "page: leaves (pred_leaf)"),
    ("models.gbm.base", "BoostedTrees", "explain", "page: per-feature contributions"),
    ("models.gbm.contrib", "GroupedAttribution", "sums", "page: per-leaf reason sums"),
    ("models.matching.explain", "ReasonExplainer", "explain_evidence", "page: reasons (facts, choice, sentences)"),
    ("models.matching.page", "PageExplainer", "explain", "page: explanation in all"),
    ("models.matching.matcher", "Matcher", "_page", "page in all (+ Recommendation objects)"),
)


def _wrap(owner: Any, name: str, label: str, spent: dict[str, float]) -> None:
    original: Callable[..., Any] = getattr(owner, name)

    @functools.wraps(original)
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.process_time()
        try:
            return original(*args, **kwargs)
        finally:
            spent[label] += time.process_time() - started

    setattr(owner, name, timed)


def instrument(spent: dict[str, float]) -> list[str]:
    """Wrap every stage this code tree has; returns the labels wrapped, in order."""
    labels = []
    for module, cls, name, label in STAGES:
        with contextlib.suppress(ImportError, AttributeError):
            owner = getattr(importlib.import_module(module), cls) if cls else importlib.import_module(module)
            if callable(getattr(owner, name)):
                _wrap(owner, name, label, spent)
                labels.append(label)
    return labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=0.1, help="the bench workspace (bench.data) [0.1]")
    parser.add_argument("--lists", type=int, default=200, help="lists timed per direction [200]")
    parser.add_argument("--warmup", type=int, default=30, help="lists answered first, untimed [30]")
    parser.add_argument("--artifacts", help="serve the bundle named by DIR/current instead of the workspace's")
    parser.add_argument("--no-stages", action="store_true", help="time whole lists only (no wrappers)")
    args = parser.parse_args()
    ws = data.workspaces(OUT, args.scale)[0]
    os.environ.update({k: v for k, v in ws.env.items() if k.startswith("RECSYS_")})
    if args.artifacts:
        os.environ["RECSYS_ARTIFACTS_DIR"] = args.artifacts
    from recsys.core.config import Settings
    from serving.state import open_matcher_state

    matcher = open_matcher_state(Settings()).matcher
    spent: dict[str, float] = defaultdict(float)
    labels = [] if args.no_stages else instrument(spent)
    for direction in DIRECTIONS:
        ids = direction.select(matcher.engine.tables.creators, matcher.engine.tables.products)
        rows = inprocess.query_rows(matcher, direction, args.lists, seed=3)
        names = [ids.id(int(r)) for r in rows]
        for name in names[: args.warmup]:
            matcher.recommend(direction, name, inprocess.TOP)
        spent.clear()
        started = time.process_time()
        for name in names:
            matcher.recommend(direction, name, inprocess.TOP)
        per_list = (time.process_time() - started) / len(names) * 1e3
        print(f"{direction}: {per_list:.2f} ms CPU per top-{inprocess.TOP} list ({len(names)} lists)", flush=True)
        for label in labels:
            if label in spent:
                print(f"    {label:45s} {spent[label] / len(names) * 1e3:7.2f}", flush=True)


if __name__ == "__main__":
    main()
