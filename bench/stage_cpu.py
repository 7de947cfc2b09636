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
import os
import time
from collections import defaultdict

from bench import data, inprocess
from bench.request_cpu import OUT
from bench.stage_timer import Stage, time_stages
from recsys.core.vocab import DIRECTIONS

# a stage the code tree lacks (e.g. an older tree measured for a before/after) is left out
STAGES: tuple[Stage, ...] = (
    ("retrieval (FAISS)", "Retriever", "models.retrieval.retriever", "candidates"),
    ("plan resolution of the retrieved pairs", "CandidateFinder", "models.matching.candidates", "_resolve"),
    ("candidates (retrieval + resolution)", "CandidateFinder", "models.matching.candidates", "find_resolved"),
    ("joinable pairs", "Matcher", "models.matching.matcher", "_joinable"),
    ("feature gathering", "FeatureTables", "features.tables", "vectors"),
    ("ranker", "LambdaRanker", "models.gbm.ranker", "predict"),
    ("ranker: the cascade's first trees", "BoostedTrees", "models.gbm.base", "head_scores"),
    ("scoring (features + ranker)", "PairScorer", "models.matching.scoring", "score"),
    ("outcomes (GMV model, money)", "OutcomePredictor", "models.matching.outcomes", "predict"),
    ("page: distribution model", "DistributionModel", "models.gbm.distribution", "gpm_and_weight"),
    ("page: leaves (pred_leaf)", "BoostedTrees", "models.gbm.base", "leaves"),
    ("page: per-feature contributions", "BoostedTrees", "models.gbm.base", "explain"),
    ("page: per-leaf reason sums", "GroupedAttribution", "models.gbm.contrib", "sums"),
    ("page: reasons (facts, choice, sentences)", "ReasonExplainer", "models.matching.explain", "explain_evidence"),
    ("page: explanation in all", "PageExplainer", "models.matching.page", "explain"),
    ("page in all (the page's columns)", "Matcher", "models.matching.matcher", "_page"),
    (
        "Recommendation objects (in-process callers; HTTP lists skip them)",
        "Page",
        "models.matching.recommendation",
        "recommendations",
    ),
)


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
    labels = [] if args.no_stages else time_stages(STAGES, spent, time.process_time)
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
