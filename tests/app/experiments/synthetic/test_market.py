"""The market protocol of the synthetic experiment: capacities and samples hold, counts add up, the oracle bounds
every method, and ``recsys experiment --protocol market`` runs end to end."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import recsys.app.cli.experiment  # noqa: F401  (registers the command under test)
from models.matching.market import period_load
from recsys.app.cli._app import app
from recsys.app.experiments.framework.base import ExperimentResult
from recsys.app.experiments.synthetic import experiment as synthetic
from recsys.app.experiments.synthetic import market

TINY = synthetic.Config(
    creators=150,
    products=600,
    promotions=6000,
    n_estimators=40,
    distill_queries=20,
    recall_queries=5,
    candidates=100,
    protocol="market",
    market_rounds=2,
    market_inviting_share=0.15,
    market_invites_per_product=5,
    market_browsing_share=0.3,
    market_pool_size=3,
    market_ablations=False,
)
SEED = 3


class Played:
    def __init__(self) -> None:
        self.split = synthetic.train_split(TINY, SEED)
        self.world = market.World.build(self.split, TINY, SEED)
        self.runs = market.play(self.world, market.market_methods(TINY, self.split.settings))
        self.best = market.oracle(self.world)
        self.result: ExperimentResult = market.market_result(self.world, self.runs, self.best, self.split)


@pytest.fixture(scope="module")
def played() -> Played:
    return Played()


def test_accepted_collaborations_fit_each_rounds_capacity_and_the_samples(played: Played) -> None:
    world = played.world
    tables = world.engine.tables
    for run in played.runs:
        promotions = world.past.promotions
        used = np.zeros(world.n_p, np.int64)
        assert len(run.added) == TINY.market_rounds
        for r, added in enumerate(run.added):
            load = period_load(promotions, tables.creators, tables.products, world.nows[r], market.WEEK_DAYS)
            left = np.maximum(world.capacity - load, 0)
            taken = np.bincount(tables.creators.rows(added["creator_id"]), minlength=world.n_c)
            assert np.all(taken <= left), (run.method.name, r)
            used += np.bincount(tables.products.rows(added["product_id"]), minlength=world.n_p)
            promotions = pd.concat([promotions, added], ignore_index=True)
        assert np.all(used <= world.stock0), run.method.name
        assert np.array_equal(run.stock, world.stock0 - used), run.method.name
        assert used.sum() > 0  # the limits were really in play (omniscient lists never exceed them)
        assert run.counts["invites_declined_capacity"] > 0 or run.method.name in (market.OMNISCIENT, market.ROUND_LP)


def test_the_oracle_bounds_every_method(played: Played) -> None:
    m = {x.name: x.metrics for x in played.result.methods}
    oracle = m.pop(market.ORACLE)
    assert set(m) == {market.POPULARITY, market.PER_QUERY, market.CAPACITY_AWARE, market.OMNISCIENT, market.ROUND_LP}
    for name, values in m.items():
        assert 0 < values["new_gmv"] <= oracle["new_gmv"], name
        assert values["new_gmv_over_oracle"] == pytest.approx(values["new_gmv"] / oracle["new_gmv"])
    assert np.all(np.bincount(played.best.c, minlength=played.world.n_c) <= played.best.creator_capacity)
    assert np.all(np.bincount(played.best.p, minlength=played.world.n_p) <= played.world.stock0)


def test_omniscient_lists_fit_the_rounds_so_every_option_is_taken(played: Played) -> None:
    """Perfect lists under the same frictions: never more options than room or samples, all new pairs."""
    v = next(x.metrics for x in played.result.methods if x.name == market.OMNISCIENT)
    assert v["declined_capacity"] == 0 and v["declined_samples"] == 0 and v.get("invites_ineligible", 0) == 0
    run = next(r for r in played.runs if r.method.name == market.OMNISCIENT)
    listed = int(run.creator_slots.sum() + run.product_slots.sum())
    assert 0 < v["collaborations"] <= listed  # a pair both invited and in the pool is one option
    assert v["new_pair_share"] == 1.0 and v["new_gmv_over_omniscient"] == pytest.approx(1.0)


def test_the_round_lp_on_predictions_lists_only_what_fits(played: Played) -> None:
    """The omniscient LP on the pipeline's candidates and predicted GMV: no option beyond a creator's room or a
    product's samples, only new partners, at most the list size per inviting product."""
    v = next(x.metrics for x in played.result.methods if x.name == market.ROUND_LP)
    assert v["declined_capacity"] == 0 and v["declined_samples"] == 0
    assert v["collaborations"] > 0 and v["new_pair_share"] == 1.0
    run = next(r for r in played.runs if r.method.name == market.ROUND_LP)
    assert run.load_mismatch == 0
    inviting = math.ceil(TINY.market_inviting_share * played.world.n_p)  # at most this many products a round
    most = TINY.market_rounds * inviting * TINY.market_invites_per_product
    assert 0 < int(run.creator_slots.sum()) == v["invites"] <= most


def test_counts_add_up(played: Played) -> None:
    for method in played.result.methods:
        v, per_query, tiers = method.metrics, method.per_query, method.per_category
        assert tiers is not None
        assert per_query["creator_new_gmv"].sum() == pytest.approx(v["new_gmv"])
        assert per_query["creator_collaborations"].sum() == v["collaborations"]
        assert tiers["new_gmv"].sum() == pytest.approx(v["new_gmv"])
        assert tiers["collaborations"].sum() == v["collaborations"]
        note = next(n for n in played.result.notes if n.startswith(f"{method.name}, per fan tier"))
        assert f"collaborations {' / '.join(str(int(x)) for x in tiers['collaborations'])};" in note
        if method.name == market.ORACLE:
            continue
        declined = v["declined_capacity"] + v["declined_samples"] + v.get("invites_ineligible", 0.0)
        assert v["invites"] == v["invites_accepted"] + declined, method.name
        assert v["collaborations"] == v["invites_accepted"] + v["pool_accepted"], method.name
        assert v["declined_capacity_share"] == pytest.approx(v["declined_capacity"] / v["invites"])
        assert method.exposure is not None and method.exposure.sum() == per_query["creator_list_slots"].sum()
    shown = {m.name: m.metrics for m in played.result.methods}
    assert shown[market.POPULARITY]["new_pair_share"] == 1.0  # popularity lists only new pairs
    assert shown[market.PER_QUERY]["new_pair_share"] < 1.0  # today's lists show existing partners too


def _preference(world: market.World, c: np.ndarray, p: np.ndarray) -> np.ndarray:
    res = world.books[0].resolve_pairs(c, p)
    return np.asarray(world.true_gmv(c, p, res.rate) * res.rate * world.preference_noise(c, p))


def test_a_creator_takes_what_it_prefers_up_to_its_capacity_while_samples_last(played: Played) -> None:
    world = played.world
    book = world.books[0]
    rank = np.empty(world.n_c, np.int64)
    rank[world.order(0, world.n_c, 2)] = np.arange(world.n_c)  # the order in which creators decide in round 0
    admitted = np.flatnonzero(book.admitted_creators)
    c1, c2 = (int(x) for x in admitted[np.argsort(rank[admitted])][:2])  # c1 decides before c2
    common = np.intersect1d(np.flatnonzero(book.eligible_products_mask(c1)), book.eligible_products_mask(c2).nonzero())
    assert len(common) >= 2
    liked = _preference(world, np.full(len(common), c1), common)
    contested, other = int(common[np.argmax(liked)]), int(common[np.argmin(liked)])  # c1 likes `contested` best
    run = market.MethodRun.start(market.Method("hand-made", None), world)
    run.stock[contested] = 1  # one sample left
    left = np.zeros(world.n_c, np.int64)
    left[c1], left[c2] = 1, 5  # c1 has room for one
    c = np.array([c1, c2, c1], np.int64)
    p = np.array([other, contested, contested], np.int64)
    market.decide(world, run, 0, c, p, np.ones(3, bool), left)
    # c1 takes the product it prefers and declines the other for lack of capacity; c2 finds the samples gone
    assert run.added[0][["creator_id", "product_id"]].values.tolist() == [
        [world.engine.tables.creators.id(c1), world.engine.tables.products.id(contested)]
    ]
    assert run.counts == {
        "invites": 3,
        "invites_accepted": 1,
        "invites_declined_capacity": 1,
        "invites_declined_samples": 1,
        "invites_ineligible": 0,
        "pool_accepted": 0,
    }
    assert run.stock[contested] == 0 and run.collaborations[c2] == 0
    # its value: the pair's true expected GMV at the plan's rate, if the pair is new
    new = (c1 * world.n_p + contested) not in set(world.past_keys.tolist())
    pair = (np.array([c1]), np.array([contested]))
    true_gmv = world.true_gmv(*pair, book.resolve_pairs(*pair).rate)[0]
    assert run.new[c1] == int(new) and run.gmv[c1] == pytest.approx(true_gmv if new else 0.0)


def test_a_re_collaboration_is_taken_like_any_option_but_is_worth_nothing(played: Played) -> None:
    world = played.world
    book = world.books[0]
    old_c, old_p = np.divmod(world.past_keys, world.n_p)  # pairs that promoted before the test window
    eligible = book.resolve_pairs(old_c, old_p).eligible
    c, p = int(old_c[eligible][0]), int(old_p[eligible][0])
    run = market.MethodRun.start(market.Method("hand-made", None), world)
    market.decide(world, run, 0, np.array([c]), np.array([p]), np.array([False]), np.full(world.n_c, 3, np.int64))
    assert run.counts["pool_accepted"] == 1 and run.collaborations[c] == 1
    assert run.new[c] == 0 and run.gmv[c] == 0.0 and run.gmv_per_round == [0.0]


def test_the_ablations_include_both_levers_priced_for_the_markets_activity(played: Played) -> None:
    from recsys.app.experiments.synthetic.market.world import ACTIVITY_PRICES

    config = TINY.model_copy(update={"market_ablations": True})
    methods = {m.name: m.matching for m in market.market_methods(config, played.split.settings)}
    hiding, priced = methods["capacity-aware, hiding full creators"], methods[ACTIVITY_PRICES]
    assert hiding is not None and hiding.full_creators == "hide" and not hiding.allocation
    assert priced is not None and priced.allocation and priced.allocation_activity == TINY.market_inviting_share


runner = CliRunner()


def test_cli_runs_the_market_protocol_end_to_end(tmp_path: Path) -> None:
    config = tmp_path / "tiny.toml"
    config.write_text(
        "creators = 100\nproducts = 400\npromotions = 4000\nn_estimators = 20\ndistill_queries = 10\n"
        "recall_queries = 5\ncandidates = 60\nmarket_rounds = 1\nmarket_inviting_share = 0.1\n"
        "market_browsing_share = 0.2\nmarket_ablations = false\n"
    )
    runs_dir = tmp_path / "runs"
    args = ["experiment", "-d", "synthetic", "--protocol", "market", "-c", str(config), "--runs-dir", str(runs_dir)]
    result = runner.invoke(app, [*args, "--seed", "2"])
    assert result.exit_code == 0, result.output
    run_dir = Path(result.output.strip().splitlines()[-1].removeprefix("run dir: "))
    saved = json.loads((run_dir / "config.json").read_text())
    assert saved["config"]["protocol"] == "market"
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["primary_metric"] == "new_gmv" and market.ORACLE in metrics["methods"]
    report = (run_dir / "report.md").read_text()
    assert "## Protocol" in report and "upper bound" in report and market.CAPACITY_AWARE in report
    assert (run_dir / "per_category.png").is_file() and (run_dir / "exposure_long_tail.png").is_file()
    assert "per_category.png" in report and "exposure_long_tail.png" in report


def test_cli_names_an_unknown_protocol_and_datasets_without_protocols(tmp_path: Path, toy: str) -> None:
    runs_dir = tmp_path / "runs"
    result = runner.invoke(app, ["experiment", "-d", "synthetic", "--protocol", "auction", "--runs-dir", str(runs_dir)])
    assert result.exit_code == 1
    assert "unknown protocol 'auction' for dataset 'synthetic'; choose one of: ranking, market" in " ".join(
        result.output.split()
    )
    result = runner.invoke(app, ["experiment", "-d", toy, "--protocol", "market", "--runs-dir", str(runs_dir)])
    assert result.exit_code == 1 and "has a single protocol" in result.output
    assert not runs_dir.exists()
