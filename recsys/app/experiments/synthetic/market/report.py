"""The market protocol's result: per method its figures against the oracle's, per fan tier, and the run's notes."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from recsys.app.experiments.framework.base import ExperimentResult, MethodResult
from recsys.app.experiments.framework.rundir import method_slug
from recsys.app.experiments.synthetic.experiment import DATASET, Config, Split
from recsys.app.experiments.synthetic.market.oracle import OracleAllocation, oracle
from recsys.app.experiments.synthetic.market.rounds import MethodRun, play
from recsys.app.experiments.synthetic.market.world import (
    CAPACITY_AWARE,
    OMNISCIENT,
    ORACLE,
    PER_QUERY,
    PRIMARY,
    World,
    market_methods,
)
from recsys.core import metrics
from recsys.core.progress import stage
from recsys.core.vocab import FanTier


def run_market(config: Config, split: Split, seed: int) -> ExperimentResult:
    """Play the rounds for every method, solve the oracle and collect the result (see the module doc)."""
    world = World.build(split, config, seed)
    runs = play(world, market_methods(config, split.settings))
    with stage("market: oracle allocation over the best new pairs"):
        best = oracle(world)
    return market_result(world, runs, best, split)


def _share(part: float, whole: float) -> float:
    return float(part / whole) if whole else float("nan")


def _top_share(slots: np.ndarray, order: np.ndarray) -> float:
    """Share of all slots held by the first 1% of creators in ``order`` (at least one creator)."""
    top = order[: max(1, math.ceil(0.01 * len(order)))]
    return _share(float(slots[top].sum()), float(slots.sum()))


def _per_tier(world: World, gmv: np.ndarray, collaborations: np.ndarray, new: np.ndarray) -> pd.DataFrame:
    pop = world.population
    tier = world.tier[pop]
    rows = []
    for t in FanTier:
        here = pop[tier == t.code]
        rows.append(
            {
                "category": t.value,
                PRIMARY: float(gmv[here].sum()),
                "collaborations": int(collaborations[here].sum()),
                "new_collaborations": int(new[here].sum()),
                "creators": len(here),
            }
        )
    return pd.DataFrame(rows)


def _per_query(
    world: World, gmv: np.ndarray, collaborations: np.ndarray, new: np.ndarray, slots: np.ndarray | None
) -> pd.DataFrame:
    pop = world.population
    frame = pd.DataFrame(
        {
            "query": world.engine.tables.creators.ids[pop].astype(str),
            "creator_new_gmv": gmv[pop],
            "creator_collaborations": collaborations[pop],
            "creator_new_collaborations": new[pop],
        }
    )
    if slots is not None:
        frame["creator_list_slots"] = slots[pop]
    return frame


def _method_result(world: World, run: MethodRun, oracle_gmv: float, omniscient_gmv: float) -> MethodResult:
    pop, counts = world.population, run.counts
    slots = run.creator_slots[pop]
    total, new = int(run.collaborations.sum()), int(run.new.sum())
    by_followers = np.lexsort((np.arange(len(pop)), -world.followers[pop]))
    by_slots = np.lexsort((np.arange(len(pop)), -slots))
    gmv = float(run.gmv.sum())
    values: dict[str, float] = {
        PRIMARY: gmv,
        "new_gmv_over_oracle": _share(gmv, oracle_gmv),
        "new_gmv_over_omniscient": _share(gmv, omniscient_gmv),
        "creator_new_gmv": float(run.gmv[pop].mean()),
        "collaborations": float(total),
        "new_pair_share": _share(new, total),
        "invites": float(counts["invites"]),
        "invites_accepted": float(counts["invites_accepted"]),
        "declined_capacity": float(counts["invites_declined_capacity"]),
        "declined_capacity_share": _share(counts["invites_declined_capacity"], counts["invites"]),
        "declined_samples": float(counts["invites_declined_samples"]),
        "pool_accepted": float(counts["pool_accepted"]),
        "creators_exposed": float(np.count_nonzero(slots)),
        "products_exposed": float(np.count_nonzero(run.product_slots)),
        "creator_exposure_gini": metrics.gini(slots),
        "top1pct_followers_slot_share": _top_share(slots, by_followers),
        "top1pct_exposed_slot_share": _top_share(slots, by_slots),
        "creators_with_new_work": float(np.count_nonzero(run.new[pop])),
    }
    if counts["invites_ineligible"]:
        values["invites_ineligible"] = float(counts["invites_ineligible"])
    return MethodResult(
        run.method.name,
        values,
        _per_query(world, run.gmv, run.collaborations, run.new, run.creator_slots),
        per_category=_per_tier(world, run.gmv, run.collaborations, run.new),
        exposure=slots.astype(np.float64),
    )


def _oracle_result(world: World, best: OracleAllocation) -> MethodResult:
    pop = world.population
    gmv = np.bincount(best.c, weights=best.value, minlength=world.n_c)
    collaborations = np.bincount(best.c, minlength=world.n_c).astype(np.int64)
    total = float(gmv.sum())
    values = {
        PRIMARY: total,
        "new_gmv_over_oracle": 1.0 if total > 0 else float("nan"),
        "creator_new_gmv": float(gmv[pop].mean()),
        "collaborations": float(len(best.c)),
        "new_pair_share": 1.0 if len(best.c) else float("nan"),
        "products_exposed": float(len(np.unique(best.p))),
        "creators_with_new_work": float(np.count_nonzero(collaborations[pop])),
    }
    return MethodResult(
        ORACLE,
        values,
        _per_query(world, gmv, collaborations, collaborations, None),
        per_category=_per_tier(world, gmv, collaborations, collaborations),
    )


def market_result(world: World, runs: list[MethodRun], best: OracleAllocation, split: Split) -> ExperimentResult:
    config, engine = world.config, world.engine
    oracle_gmv = float(best.value.sum())
    omniscient_gmv = next((float(run.gmv.sum()) for run in runs if run.method.name == OMNISCIENT), float("nan"))
    methods = [_method_result(world, run, oracle_gmv, omniscient_gmv) for run in runs]
    methods.append(_oracle_result(world, best))
    by_name = {m.name: m.metrics for m in methods}
    admitted_products = np.logical_or.reduce([b.admitted_products for b in world.books])
    extra: dict[str, float] = {
        "oracle_graph_edges": float(best.edges),
        "creator_capacity_all_rounds": float(best.creator_capacity[world.population].sum()),
        "creator_load_round_1": float(world.load0[world.population].sum()),
        "product_samples": float(world.stock0[admitted_products].sum()),
    }
    if CAPACITY_AWARE in by_name and PER_QUERY in by_name:
        extra["capacity_aware_over_per_query"] = _share(by_name[CAPACITY_AWARE][PRIMARY], by_name[PER_QUERY][PRIMARY])
    for run in runs:
        for r, value in enumerate(run.gmv_per_round):
            extra[f"new_gmv_round_{r + 1}_{method_slug(run.method.name)}"] = value
    mismatched = [run for run in runs if run.load_mismatch]
    for run in mismatched:
        extra[f"matcher_load_mismatch_{method_slug(run.method.name)}"] = float(run.load_mismatch)
    extra.update({k: float(v) for k, v in engine.metrics.items() if isinstance(v, int | float) and "seconds" not in k})
    notes = [
        f"{config.market_rounds} rounds from {world.nows[0].date()}; each round {config.market_inviting_share:.0%} of "
        f"the admitted products with samples left invite {config.market_invites_per_product} creators each; "
        f"{config.market_browsing_share:.0%} of the creators with capacity left also consider the top "
        f"{config.market_pool_size} of their own pool; preference noise sigma {config.market_preference_noise}",
        "lists ordered by the engine's value (earnings blend 0, as in the ranking protocol); creators choose by "
        "their own noisy estimate of expected commission",
        "creator_new_gmv: mean per admitted creator (per_query rows: one per creator, for recsys compare)",
        "per category = per fan tier of the creators; exposure = times a creator was in a product's list",
        f"cutoff of features: {engine.tables.cutoff.date()}",
    ]
    for m in methods:  # the per-tier table is otherwise only in the per-category plot
        tiers = m.per_category
        assert tiers is not None
        notes.append(
            f"{m.name}, per fan tier ({' / '.join(tiers['category'])}): collaborations "
            f"{' / '.join(str(int(x)) for x in tiers['collaborations'])}; new GMV "
            f"{' / '.join(f'{x:,.0f}' for x in tiers[PRIMARY])}"
        )
    if mismatched:
        notes.append(
            "the matcher's creator load differed from the simulation's for some creators and rounds (extra metrics "
            "matcher_load_mismatch_*): its capacity view is not the market's"
        )
    protocol = (
        f"Synthetic marketplace ({config.creators} creators x {config.products} products, seed {world.seed}), "
        f"engine trained on the history before {world.nows[0].date()}. Market simulation: {config.market_rounds} "
        "weekly rounds; each method builds its lists on its own market state (earlier rounds' collaborations added "
        "as promotions, samples used taken off the stock). Sampled products with samples left invite the top "
        "creators of their list; creators with capacity left (weekly capacity by fan tier, less last week's load) "
        "consider their invitations and, for a sampled share, the top of their own pool, and accept the options "
        "they prefer (true expected commission x log-normal noise) up to their capacity while samples last; the "
        "rest are declined. Value = true expected GMV at the plan's rate of new pairs (a re-collaboration is "
        "worth 0). new_gmv = total value over all rounds. The oracle solves the allocation LP over the truly best "
        "new eligible pairs with each creator's capacity over all rounds and each product's initial samples: it "
        "relaxes the round structure and the creators' preferences, an upper bound. Omniscient lists keep the "
        "rounds (who invites, who browses, list and pool sizes) and know the truth: each round an LP picks the "
        "lists that maximise true GMV within capacities and samples, so creators accept every option — what "
        "perfect lists reach in this market (new_gmv_over_omniscient: the share of it a method reaches). The round "
        "LP on predicted GMV (a diagnostic) solves the same LP on the capacity-aware pipeline's own candidates and "
        "predicted GMV: against the omniscient lists it prices the predictions' errors, against the pipeline the "
        "creators' choice among invitations."
    )
    return ExperimentResult(
        dataset=DATASET,
        protocol=protocol,
        methods=methods,
        primary_metric=PRIMARY,
        notes=notes,
        extra_metrics=extra,
        headline_method=CAPACITY_AWARE,
    )
