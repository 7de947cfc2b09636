"""The ``market`` protocol of the synthetic experiment: weekly rounds of a simulated marketplace in which creators
take only so many new collaborations a week and products have only so many samples.

Same split and engine as the ranking protocol (:func:`~recsys.app.experiments.synthetic.experiment.train_split`).
Then ``market_rounds`` weekly rounds, round r at ``now_r = test_start + 7·r days``. Every method plays the rounds on
its own copy of the market:

1. **Lists.** Matcher methods assemble a matcher (:func:`~models.matching.assemble.assemble_matcher`) on the
   method's current market — the marketplace as it stood at test_start, plus the collaborations the method's lists
   led to in earlier rounds as promotions rows (dated at their round's ``now`` less a second, zero outcomes, the
   resolved plan), and products' ``sample_stock`` less the samples sent — at ``now_r``. Popularity lists the
   eligible new candidates by the other side's 90-day GMV (a feature as of test_start).
2. **Invitations.** A random ``market_inviting_share`` of the admitted products with samples left invite the top
   ``market_invites_per_product`` creators of their list (the random order of products is the same for every
   method; the stock filter is the method's own).
3. **Decisions.** Every creator with capacity left considers its invitations; a random ``market_browsing_share`` of
   them also opens its own pool and considers its top ``market_pool_size`` products. In a random order (the same for
   every method) each creator ranks its options by a private estimate of what it would earn — true expected GMV x
   the plan's rate x log-normal noise (sigma ``market_preference_noise``; one draw per pair, the same in every
   method and round) — and accepts the best ones up to its remaining capacity while the product still has samples;
   the other invitations are declined, for lack of capacity or because the samples ran out.

A creator's capacity in a round is its ``weekly_capacity`` minus its load, the distinct products it promoted in
``[now_r − 7 days, now_r)`` (as the matcher counts it): in round 0 its last week of history, later none — the
collaborations of round r − 1 are dated one second before ``now_{r−1}`` (see ``DATED_BEFORE_NOW``), so every round
is a fresh week, as a load count that closes either end of the week sees it. The simulation checks that the
matcher's market state holds the same load (``matcher_load_mismatch_*`` in the extra metrics when it does not).

A collaboration's value is its true expected GMV (:class:`~recsys.core.synth.GroundTruth`) at the resolved plan's
rate; a re-collaboration (the pair promoted before) is accepted like any other option but is not new and has no
value.

The oracle solves the allocation LP (:func:`~models.matching.allocation.allocate`) over a candidate graph of the
truly best new eligible pairs (per creator its best ``market_oracle_products_per_creator`` by true expected GMV, per
product its best ``market_oracle_creators_per_product``), a pair eligible if it is in any round, at its best rate
over the rounds (resolved in round 0, and again in a later round only where that can change it); creator capacity =
its capacity over all rounds (round 0 less its load), product capacity = its initial samples. It relaxes the round
structure and the creators' preferences: an upper bound.

*Omniscient lists* (:mod:`.omniscient`) are a diagnostic method that keeps the rounds and knows the truth: each
round an LP picks, among the pairs the round's invitations and pools can carry, the lists that maximise true GMV
within capacities and samples. What they reach is the value the market's frictions leave to any list-maker;
``new_gmv_over_omniscient`` says how much of it a method's lists capture. *Round LP on predicted GMV*, another
diagnostic, solves the same LP on the pipeline's own candidates and predicted GMV: against the omniscient lists it
prices the predictions' errors, against the capacity-aware pipeline the creators' choice among invitations.
"""

from __future__ import annotations

from recsys.app.experiments.synthetic.market.oracle import OracleAllocation, oracle
from recsys.app.experiments.synthetic.market.report import market_result, run_market
from recsys.app.experiments.synthetic.market.rounds import MethodRun, decide, play, play_round
from recsys.app.experiments.synthetic.market.world import (
    CAPACITY_AWARE,
    OMNISCIENT,
    ORACLE,
    PER_QUERY,
    POPULARITY,
    ROUND_LP,
    WEEK_DAYS,
    Method,
    World,
    market_methods,
)

__all__ = [
    "CAPACITY_AWARE",
    "OMNISCIENT",
    "ORACLE",
    "PER_QUERY",
    "POPULARITY",
    "ROUND_LP",
    "WEEK_DAYS",
    "Method",
    "MethodRun",
    "OracleAllocation",
    "World",
    "decide",
    "market_methods",
    "market_result",
    "oracle",
    "play",
    "play_round",
    "run_market",
]
