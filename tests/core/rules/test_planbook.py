"""PlanBook on hand-written marketplaces: answers, masks, refresh, time travel, input forms and errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys.core.config import RulesSettings
from recsys.core.rules import PlanBook
from tests.core.rules._market import DAY, NOW, creator, frames, marketplaces, merchant, plan, product

RULES = RulesSettings()


def _market() -> dict[str, pd.DataFrame]:
    return frames(
        [merchant("m1"), merchant("m2", alliance_closures=3)],
        [product("p1"), product("p2"), product("p3", "m2"), product("p4")],
        [
            creator("alice"),
            creator("bob", followers=100, region="south"),
            creator("carol", deposit_paid=False),
        ],
        [
            plan("open1", "p1", commission_rate=0.10),
            plan("excl1", "p1", "exclusive", creator_ids=["alice"], commission_rate=0.05),
            plan("targ2", "p2", "targeted", creator_ids=["alice", "bob"], commission_rate=0.2),
            plan("open3", "p3"),  # banned merchant
            plan("tier4", "p4", "tiered", commission_rate=0.1, tiers=[[10, 0.2]], min_followers=1000),
        ],
    )


def _build(market: dict[str, pd.DataFrame], now: pd.Timestamp = NOW) -> PlanBook:
    return PlanBook.build(market["plans"], market["products"], market["merchants"], market["creators"], now, RULES)


def test_products_for_creator() -> None:
    book = _build(_market())
    every = np.arange(4)
    alice = book.products_for_creator(0, every, predicted_units=np.array([0, 0, 0, 20.0]))
    assert alice.eligible.tolist() == [True, True, False, True]
    assert [book.plan_ids[r] if r >= 0 else None for r in alice.plan_row] == ["excl1", "targ2", None, "tier4"]
    assert alice.plan_type_names() == ["exclusive", "targeted", None, "tiered"]
    np.testing.assert_allclose(alice.rate, [0.05, 0.2, np.nan, 0.15])
    assert alice.reason_codes() == [None, None, "merchant_closures_permanent_ban", None]

    bob = book.products_for_creator(1, every)
    assert [book.plan_ids[r] if r >= 0 else None for r in bob.plan_row] == ["open1", "targ2", None, None]
    assert bob.reason_codes()[3] == "plan_min_followers_not_met"
    carol = book.products_for_creator(2, every)
    assert not carol.eligible.any() and set(carol.reason_codes()) <= {
        "creator_deposit_unpaid",
        "merchant_closures_permanent_ban",
    }
    assert book.admitted_products.tolist() == [True, True, False, True]
    assert book.admitted_creators.tolist() == [True, True, False]


def test_masks_match_pairwise_answers() -> None:
    book = _build(_market())
    assert book.eligible_products_mask(0).tolist() == [True, True, False, True]
    assert book.eligible_products_mask(1).tolist() == [True, True, False, False]
    assert not book.eligible_products_mask(2).any()
    assert book.eligible_creators_mask(1).tolist() == [True, True, False]
    assert book.eligible_creators_mask(3).tolist() == [True, False, False]
    side = book.creators_for_product(0, np.array([2, 1, 0]))
    assert side.eligible.tolist() == [False, True, True]
    assert [book.plan_ids[r] if r >= 0 else None for r in side.plan_row] == [None, "open1", "excl1"]


def test_refresh_applies_plan_edits_and_leaves_the_old_book_alone() -> None:
    market = _market()
    book = _build(market)
    changed = frames(
        [],
        [],
        [],
        [
            plan("open1", "p1", commission_rate=0.3),  # a raise
            plan("new2", "p2", commission_rate=0.5),
            plan("excl1", "p1", "exclusive", creator_ids=["alice"], commission_rate=0.05, ends_at=NOW - DAY),  # ended
        ],
    )["plans"]
    fresh = book.refresh(changed)
    assert fresh.n_plans == 6 and fresh.plan_ids[5] == "new2"
    alice = fresh.products_for_creator(0, np.arange(4))
    assert [fresh.plan_ids[r] if r >= 0 else None for r in alice.plan_row] == ["open1", "targ2", None, "tier4"]
    assert alice.rate[0] == 0.3
    bob = fresh.products_for_creator(1, np.array([1]))
    assert fresh.plan_ids[bob.plan_row[0]] == "targ2"  # targeted outranks the richer open plan
    assert book.plan_ids[book.products_for_creator(0, np.array([0])).plan_row[0]] == "excl1"  # old book unchanged
    rebuilt = _build({**market, "plans": pd.concat([market["plans"], changed]).drop_duplicates("plan_id", keep="last")})
    np.testing.assert_array_equal(rebuilt.eligible_products_mask(0), fresh.eligible_products_mask(0))


def test_at_moves_the_clock() -> None:
    market = _market()
    market["plans"].loc[0, "ends_at"] = NOW + 2 * DAY
    book = _build(market)
    later = book.at(NOW + 3 * DAY)
    assert book.products_for_creator(1, np.array([0])).eligible[0]
    assert later.products_for_creator(1, np.array([0])).reason_codes() == ["plan_ended"]
    assert later.now == NOW + 3 * DAY and book.now == NOW


def test_a_new_time_that_changes_no_plan_shares_the_derived_arrays() -> None:
    """A served state moves to a new time every minute: when no plan starts or ends, the new book keeps this one's
    arrays (a forked worker keeps sharing their pages); when one does, they are new and say so."""
    market = _market()
    market["plans"].loc[0, "ends_at"] = NOW + 2 * DAY
    book = _build(market)
    same = book.at(NOW + pd.Timedelta(minutes=1))
    assert same._static_code is book._static_code and same._product_min_followers is book._product_min_followers
    assert same.now == NOW + pd.Timedelta(minutes=1)
    later = book.at(NOW + 3 * DAY)
    assert later._static_code is not book._static_code
    assert later.products_for_creator(1, np.array([0])).reason_codes() == ["plan_ended"]
    assert same.products_for_creator(1, np.array([0])).eligible[0]


def test_csv_and_parquet_shaped_cells_and_aware_times() -> None:
    market = _market()
    plans = market["plans"].copy()
    plans["creator_ids"] = [json.dumps(v) for v in plans["creator_ids"]]  # CSV: JSON strings
    plans["tiers"] = [np.array(v, dtype=float) if v else np.zeros((0, 2)) for v in plans["tiers"]]  # Parquet
    plans["starts_at"] = plans["starts_at"].dt.tz_localize("Asia/Shanghai")
    creators = market["creators"].copy()
    creators["categories"] = [np.array(v, dtype=object) for v in creators["categories"]]
    book = PlanBook.build(plans, market["products"], market["merchants"], creators, NOW, RULES)
    reference = _build(market)
    for c in range(3):
        a, b = book.products_for_creator(c, np.arange(4)), reference.products_for_creator(c, np.arange(4))
        np.testing.assert_array_equal(a.plan_row, b.plan_row)


def test_bad_input_errors_name_what_is_wrong() -> None:
    market = _market()
    book = _build(market)
    with pytest.raises(IndexError, match="product_rows holds row 9, outside the 4 rows"):
        book.products_for_creator(0, np.array([0, 9]))
    with pytest.raises(TypeError, match="integer row numbers"):
        book.products_for_creator(0, np.array([0.5]))
    with pytest.raises(ValueError, match="predicted_units must have one value per row"):
        book.products_for_creator(0, np.arange(4), predicted_units=np.zeros(3))
    duplicated = pd.concat([market["plans"], market["plans"].iloc[[0]]], ignore_index=True)
    with pytest.raises(ValueError, match=r"plans rows \[0, 5\]: plan_id 'open1' appears more than once"):
        PlanBook.build(duplicated, market["products"], market["merchants"], market["creators"], NOW, RULES)
    twice = pd.concat([market["products"], market["products"].iloc[[1]]], ignore_index=True)
    with pytest.raises(ValueError, match=r"products rows \[1, 4\]: product_id 'p2' appears more than once"):
        PlanBook.build(market["plans"], twice, market["merchants"], market["creators"], NOW, RULES)
    wordy = market["creators"].astype({"followers": object})
    wordy.loc[1, "followers"] = "lots"
    with pytest.raises(ValueError, match="creators row 1: field 'followers' must be a number, got 'lots'"):
        PlanBook.build(market["plans"], market["products"], market["merchants"], wordy, NOW, RULES)
    no_start = market["plans"].copy()
    no_start.loc[2, "starts_at"] = pd.NaT
    with pytest.raises(ValueError, match="plans row 2: field 'starts_at' is required"):
        PlanBook.build(no_start, market["products"], market["merchants"], market["creators"], NOW, RULES)


def test_empty_plans_and_unknown_references() -> None:
    market = _market()
    empty = PlanBook.build(
        market["plans"].iloc[:0], market["products"], market["merchants"], market["creators"], NOW, RULES
    )
    assert empty.products_for_creator(0, np.arange(4)).reason_codes()[0] == "plan_not_offered_to_creator"
    assert not empty.eligible_products_mask(0).any() and not empty.eligible_creators_mask(0).any()
    orphan = frames([], [], [], [plan("ghost", "p_missing"), plan("ex", "p4", "exclusive", creator_ids=["nobody"])])
    book = _build({**market, "plans": orphan["plans"]})
    assert book.products_for_creator(0, np.arange(4)).reason_codes() == [
        "plan_not_offered_to_creator",
        "plan_not_offered_to_creator",
        "merchant_closures_permanent_ban",
        "plan_not_offered_to_creator",
    ]


def _answers(book: PlanBook, n_creators: int, n_products: int) -> list:
    out = []
    for c in range(n_creators):
        r = book.products_for_creator(c, np.arange(n_products), np.full(n_products, 12.0))
        out.append(
            (
                [book.plan_ids[i] if i >= 0 else None for i in r.plan_row],
                np.nan_to_num(r.rate, nan=-1.0).tolist(),
                r.reason_codes(),
            )
        )
        out.append(book.eligible_products_mask(c).tolist())
    out.extend(book.eligible_creators_mask(p).tolist() for p in range(n_products))
    return out


@settings(max_examples=150)
@given(marketplaces(max_plans=8), st.integers(0, 2**32 - 1), st.booleans())
def test_refresh_equals_a_rebuild(market: dict, seed: int, values_only: bool) -> None:
    """Both refresh paths (values only, and structural edits / new plans) answer like a fresh build."""
    plans = market["plans"]
    rng = np.random.default_rng(seed)
    edited = plans.sample(frac=0.5, random_state=int(rng.integers(1 << 31))).copy()
    edited["commission_rate"] = rng.choice([0.05, 0.3, 0.9], len(edited))
    edited["ends_at"] = pd.to_datetime(rng.choice([NOW - DAY, NOW + DAY], len(edited)))
    if not values_only:
        edited["creator_ids"] = [["c0"] for _ in range(len(edited))]
        edited["plan_type"] = rng.choice(["open", "exclusive", "tiered"], len(edited))
        edited = pd.concat([edited, plans.head(1).assign(plan_id="brand_new", product_id="p0")], ignore_index=True)
    merged = pd.concat([plans, edited]).drop_duplicates("plan_id", keep="last")
    order = {pid: i for i, pid in enumerate(plans["plan_id"])}
    merged = merged.sort_values("plan_id", key=lambda s: s.map(lambda x: order.get(x, len(order)))).reset_index(
        drop=True
    )
    refreshed = _build(market).refresh(edited)
    rebuilt = _build({**market, "plans": merged})
    shape = len(market["creators"]), len(market["products"])
    assert refreshed.plan_ids.tolist() == rebuilt.plan_ids.tolist()
    assert _answers(refreshed, *shape) == _answers(rebuilt, *shape)


def test_public_rates_show_only_open_public_plans() -> None:
    market = _market()
    extra = frames(
        [merchant("m1")],
        [product("p1")],
        [creator("alice")],
        [
            plan("ended", "p2", commission_rate=0.5, ends_at=NOW - DAY),
            plan("spent", "p4", commission_rate=0.6, budget=10.0, budget_spent=10.0),
        ],
    )["plans"]
    market["plans"] = pd.concat([market["plans"], extra], ignore_index=True)
    rates = _build(market).public_rates()
    # p1: open 0.10 (the exclusive 0.05 is not public); p2: targeted only, the ended plan is closed; p3: open plan
    # of a banned merchant still has a public rate (admission is the ranking's filter); p4: tiered base rate 0.1
    np.testing.assert_allclose(rates, [0.10, np.nan, 0.10, 0.10])


@settings(max_examples=100, deadline=None)
@given(marketplaces())
def test_public_rates_agree_with_the_plans_frame(market: dict) -> None:  # type: ignore[type-arg]
    book = _build(market)
    plans = market["plans"]
    rates = pd.to_numeric(plans["commission_rate"], errors="coerce")
    ends = pd.to_datetime(plans["ends_at"])
    budget = pd.to_numeric(plans["budget"], errors="coerce")
    open_now = (
        plans["plan_type"].isin(["open", "tiered"])
        & (pd.to_datetime(plans["starts_at"]) <= NOW)
        & (ends.isna() | (ends > NOW))
        & (budget.isna() | (pd.to_numeric(plans["budget_spent"]).fillna(0) < budget))
    )
    terms_ok = book._index.terms_ok[: len(plans)]  # commission bounds and tier checks: tested on their own
    expected = rates[open_now & terms_ok].groupby(plans.loc[open_now & terms_ok, "product_id"]).max()
    got = pd.Series(book.public_rates(), index=book.product_ids)
    want = expected.reindex(book.product_ids)
    np.testing.assert_allclose(got.to_numpy(), want.to_numpy())


def test_open_creator_share_estimates_who_may_join_a_product() -> None:
    book = _build(_market())
    # alice (50,000 followers) and bob (100) are admitted, carol has no deposit: 3 creators in all
    assert book.open_creator_share(0) == pytest.approx(2 / 3)  # p1: an open plan without a follower floor
    assert book.open_creator_share(1) == 0.0  # p2: targeted only
    assert book.open_creator_share(2) == 0.0  # p3: merchant banned
    assert book.open_creator_share(3) == pytest.approx(1 / 3)  # p4: tiered plan for 1,000+ followers


def test_projecting_units_picks_the_tier_a_fresh_resolution_picks() -> None:
    """Hand-worked: p4 is tiered, 10% base and 20% from 10 units. Resolved without units alice gets the base 10%;
    projected with 20 units, 10 units earn 10% and 10 earn 20%: 15%, the rate a fresh resolution with 20 units gives
    (test_products_for_creator). The other pairs keep their flat rates."""
    book = _build(_market())
    every = np.arange(4)
    plain = book.products_for_creator(0, every)
    projected = book.project(plain, np.array([0, 0, 0, 20.0]))
    np.testing.assert_allclose(plain.rate, [0.05, 0.2, np.nan, 0.1])
    np.testing.assert_allclose(projected.rate, [0.05, 0.2, np.nan, 0.15])
    assert projected.eligible.tolist() == plain.eligible.tolist()


@settings(max_examples=200, deadline=None)
@given(marketplaces(max_plans=8), st.integers(0, 2**32 - 1))
def test_project_equals_resolving_again_with_the_units(market: dict, seed: int) -> None:  # type: ignore[type-arg]
    """The request path resolves once and projects tiers on a subset of the pairs; that must equal resolving the
    subset anew with the units (every field, every pair)."""
    book = _build(market)
    rng = np.random.default_rng(seed)
    n = 30
    c = rng.integers(0, len(market["creators"]), n)
    p = rng.integers(0, len(market["products"]), n)
    cumulative = rng.integers(0, 30, n).astype(float)
    units = rng.uniform(0, 60, n)
    subset = rng.permutation(n)[: n // 2]
    projected = book.project(book.resolve_pairs(c, p, None, cumulative).take(subset), units[subset])
    fresh = book.resolve_pairs(c[subset], p[subset], units[subset], cumulative[subset])
    for field in ("eligible", "plan_row", "plan_type", "rate", "reason"):
        np.testing.assert_array_equal(getattr(projected, field), getattr(fresh, field), err_msg=field)


@settings(max_examples=100, deadline=None)
@given(marketplaces())
def test_best_rates_bound_every_creators_effective_rate(market: dict) -> None:  # type: ignore[type-arg]
    """``min_commission`` searches only products whose best rate reaches it: no creator may be paid more."""
    book = _build(market)
    n_c, n_p = len(market["creators"]), len(market["products"])
    c, p = np.repeat(np.arange(n_c), n_p), np.tile(np.arange(n_p), n_c)
    for units in (0.0, 1e9):  # no sales yet, and the top tier
        res = book.resolve_pairs(c, p, None, np.full(len(c), units))
        best = book.best_rates()[p]
        assert np.all(np.isfinite(best[res.eligible]))
        assert np.all(res.rate[res.eligible] <= best[res.eligible] + 1e-12)


def test_known_ids_are_shared_only_when_they_are_the_frames_ids() -> None:
    market = _market()
    args = (market["plans"], market["products"], market["merchants"], market["creators"], NOW, RULES)
    creators = pd.Index(market["creators"]["creator_id"].to_numpy(object), dtype=object)
    products = pd.Index(market["products"]["product_id"].to_numpy(object), dtype=object)
    shared = PlanBook.build(*args, ids=(creators, products))
    assert shared.creator_ids is creators and shared.product_ids is products
    plain = _build(market)
    assert plain.product_ids.equals(products) and plain.product_ids is not products
    assert shared.plan_arrays.plan_ids.tolist() == plain.plan_arrays.plan_ids.tolist()
    mismatched = PlanBook.build(*args, ids=(creators, pd.Index(["p1", "p2", "p4", "p3"], dtype=object)))
    assert mismatched.product_ids.tolist() == ["p1", "p2", "p3", "p4"]  # the frame's, not the wrong ones
