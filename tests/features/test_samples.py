"""The sample fulfilment features: point in time at the cutoff, in the trained feature list, NaN for a new creator."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from features import build_feature_tables
from features.dropout import blank_history
from features.names import CREATOR_FEATURES, SAMPLE_FEATURES
from features.samples import sample_block
from recsys.core.schema import sample_requests_frame
from recsys.core.synth import SynthConfig, generate

CUTOFF = pd.Timestamp("2026-05-01")
RATE, JUDGED = SAMPLE_FEATURES


def _requests(rows: list[tuple[str, str, str | None, str | None, str | None]]) -> pd.DataFrame:
    """Rows of (request id, creator, shipped_at, content_started_at, content_recorded_at)."""
    return sample_requests_frame(
        [
            {
                "request_id": rid,
                "creator_id": creator,
                "product_id": "p1",
                "requested_at": "2026-01-01",
                "shipped_at": shipped,
                "content_promotion_id": "pr1" if started else None,
                "content_started_at": started,
                "content_recorded_at": recorded,
            }
            for rid, creator, shipped, started, recorded in rows
        ]
    )


def _features(requests: pd.DataFrame, creators: list[str]) -> pd.DataFrame:
    return sample_block(requests, pd.Index(creators), CUTOFF)


def test_only_samples_judged_before_the_cutoff_count() -> None:
    requests = _requests(
        [
            ("a1", "a", "2026-04-01", "2026-04-05", "2026-04-06"),  # fulfilled, known
            ("a2", "a", "2026-04-01", None, None),  # 30 days without content: judged, unfulfilled
            ("a3", "a", "2026-05-02", "2026-05-03", "2026-05-03"),  # shipped after the cutoff: not read
            ("b1", "b", "2026-04-10", "2026-04-12", "2026-05-02"),  # content reported after the cutoff: unfulfilled
            ("c1", "c", "2026-04-25", None, None),  # 6 days old, no content yet: not judged
            ("d1", "d", "2026-01-10", "2026-01-12", "2026-01-12"),  # shipped more than 90 days before: not read
            ("e1", "e", "2026-03-01", "2026-03-20", "2026-03-21"),  # content 19 days after shipping: too late
        ]
    )
    out = _features(requests, ["a", "b", "c", "d", "e", "new"])
    assert out.loc["a", RATE] == 0.5 and out.loc["a", JUDGED] == 2
    assert out.loc["b", RATE] == 0.0 and out.loc["b", JUDGED] == 1
    assert out.loc["e", RATE] == 0.0 and out.loc["e", JUDGED] == 1
    for nobody in ("c", "d", "new"):
        assert np.isnan(out.loc[nobody, RATE]) and out.loc[nobody, JUDGED] == 0


def test_content_known_before_the_cutoff_counts_once_reported() -> None:
    requests = _requests([("c1", "c", "2026-04-25", "2026-04-28", "2026-04-29")])  # 6 days old but fulfilled
    out = _features(requests, ["c"])
    assert out.loc["c", RATE] == 1.0 and out.loc["c", JUDGED] == 1


@pytest.fixture(scope="module")
def market():  # type: ignore[no-untyped-def]
    return generate(SynthConfig(creators=80, products=200, promotions=2500, seed=4)).market


def test_feature_tables_carry_the_rate_and_never_read_the_future(market) -> None:  # type: ignore[no-untyped-def]
    cutoff = pd.Timestamp("2026-05-15")
    tables = build_feature_tables(market, cutoff, cf_factors=4, seed=1)
    rate = tables.creator[:, tables.creator_names.index(RATE)]
    judged = tables.creator[:, tables.creator_names.index(JUDGED)]
    assert np.isfinite(rate).sum() >= 20 and 0.2 < np.nanmean(rate) < 0.95
    assert np.array_equal(np.isnan(rate), judged == 0)
    samples = market.sample_requests
    known = samples[samples["shipped_at"] < cutoff].copy()
    late = known["content_recorded_at"] >= cutoff  # what was not yet reported at the cutoff
    known.loc[late, ["content_promotion_id", "content_started_at", "content_recorded_at"]] = [None, pd.NaT, pd.NaT]
    again = build_feature_tables(replace(market, sample_requests=known), cutoff, cf_factors=4, seed=1)
    np.testing.assert_array_equal(tables.creator, again.creator)
    none = build_feature_tables(replace(market, sample_requests=sample_requests_frame()), cutoff, cf_factors=4, seed=1)
    assert np.isnan(none.creator[:, none.creator_names.index(RATE)]).all()


def test_history_dropout_blanks_the_rate_like_a_new_creator(market) -> None:  # type: ignore[no-untyped-def]
    tables = build_feature_tables(market, pd.Timestamp("2026-05-15"), cf_factors=4, seed=1)
    rows = np.arange(len(tables.creators))
    x = tables.vectors(rows, np.zeros(len(rows), np.int64))
    out = blank_history(
        x, tables, rows, np.zeros(len(rows), np.int64), np.ones(len(rows), bool), np.zeros(len(rows), bool)
    )
    names = tables.feature_names
    assert np.isnan(out[:, names.index(RATE)]).all() and (out[:, names.index(JUDGED)] == 0).all()


def test_the_trained_bundle_ranks_with_the_rate(fixture_bundle) -> None:  # type: ignore[no-untyped-def]
    import json

    manifest = json.loads((fixture_bundle.path / "manifest.json").read_text())
    assert set(SAMPLE_FEATURES) <= set(manifest["feature_names"]) and set(SAMPLE_FEATURES) <= set(CREATOR_FEATURES)
    assert len(fixture_bundle.market.sample_requests) > 0


def test_onboarded_creators_have_no_rate_and_a_changed_one_keeps_its_own(fixture_bundle) -> None:  # type: ignore[no-untyped-def]
    from models.bundle import load_bundle
    from models.overlay import OverlayBase, overlay_engine
    from recsys.core.schema import Marketplace

    engine = load_bundle(fixture_bundle.path).engine
    market, tables = fixture_bundle.market, engine.tables
    rate = tables.creator[:, tables.creator_names.index(RATE)]
    row = int(np.flatnonzero(np.isfinite(rate))[0])
    known = market.creators[market.creators["creator_id"] == tables.creators.id(row)].assign(followers=999)
    new = market.creators.iloc[[0]].assign(creator_id="c-onboarded")
    part = Marketplace(
        merchants=market.merchants.iloc[:0],
        products=market.products.iloc[:0],
        creators=pd.concat([known, new], ignore_index=True),
        plans=market.plans.iloc[:0],
        promotions=market.promotions.iloc[:0],
        orders=market.orders.iloc[:0],
    )
    grown = overlay_engine(engine, part, tables.cutoff, 100, OverlayBase.of(engine)).engine.tables
    at = grown.creator_names.index
    assert grown.creator[row, at(RATE)] == rate[row] and grown.creator[row, at(JUDGED)] > 0
    fresh = grown.creators.row("c-onboarded")
    assert np.isnan(grown.creator[fresh, at(RATE)]) and grown.creator[fresh, at(JUDGED)] == 0
