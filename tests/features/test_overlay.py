"""Rows for entities written after training (features.overlay, models.overlay), checked against what training's
builders give: a new product's row is the row ``build_feature_tables`` gives it as a cold product of the same
marketplace; a changed product keeps its history; a cold-start factor is what training predicted for cold rows."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest


@pytest.fixture(scope="module")
def engine(fixture_bundle):  # type: ignore[no-untyped-def]
    from models.bundle import load_bundle

    return load_bundle(fixture_bundle.path).engine


@pytest.fixture(scope="module")
def base(engine):  # type: ignore[no-untyped-def]
    from models.overlay import OverlayBase

    return OverlayBase.of(engine)


def _empty(name: str) -> pd.DataFrame:
    from recsys.core.schema import TABLES
    from recsys.core.store import records_to_frame

    return records_to_frame(TABLES[name], [])


def _new_entities(market):  # type: ignore[no-untyped-def]
    """A twin of product 3 (new id, 30% dearer, its plans copied) and of creator 4 (new id); as a part and as the
    whole marketplace with them added."""
    from recsys.core.schema import Marketplace

    source = market.products["product_id"].iloc[3]
    product = market.products.iloc[[3]].assign(product_id="p-new", price=market.products["price"].iloc[3] * 1.3)
    creator = market.creators.iloc[[4]].assign(creator_id="c-new", followers=123_456)
    plans = market.plans[market.plans["product_id"] == source].assign(product_id="p-new")
    plans = plans.assign(plan_id=plans["plan_id"] + "-new")
    merchants = market.merchants[market.merchants["merchant_id"].isin(product["merchant_id"])]
    part = Marketplace(
        merchants=merchants,
        products=product,
        creators=creator,
        plans=plans,
        promotions=_empty("promotions"),
        orders=_empty("orders"),
    )
    whole = replace(
        market,
        products=pd.concat([market.products, product], ignore_index=True),
        creators=pd.concat([market.creators, creator], ignore_index=True),
        plans=pd.concat([market.plans, plans], ignore_index=True),
    )
    return part, whole


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.allclose(np.asarray(a, np.float64), np.asarray(b, np.float64), atol=1e-4, equal_nan=True))


def test_a_new_entity_gets_the_row_training_gives_a_cold_entity(fixture_bundle, engine, base) -> None:  # type: ignore[no-untyped-def]
    from features.overlay import array_side
    from features.tables import build_feature_tables
    from models.overlay import overlay_engine

    tables = engine.tables
    part, whole = _new_entities(fixture_bundle.market)
    result = overlay_engine(engine, part, tables.cutoff, 100, base)
    grown = result.engine.tables
    assert (len(grown.creators), len(grown.products)) == (len(tables.creators) + 1, len(tables.products) + 1)
    assert grown.products.row("p-new") == len(tables.products)  # appended: the bundle's rows never move
    settings = fixture_bundle.settings
    reference = build_feature_tables(whole, tables.cutoff, 100, settings.retrieval.cf_factors, 5)
    for side, ids, block, names in (
        ("product", "p-new", "product", grown.product_names),
        ("creator", "c-new", "creator", grown.creator_names),
    ):
        ref_row = getattr(reference, f"{side}s").row(ids)
        row = getattr(grown, f"{side}s").row(ids)
        got, want = getattr(grown, block)[row], getattr(reference, block)[ref_row]
        wrong = [n for n, g, r in zip(names, got, want, strict=True) if not _same(g, r)]
        assert not wrong, f"{side} features differ from training's for a cold entity: {wrong}"
        for name, array in grown.arrays.items():
            if array_side(name) == side:
                assert _same(array[row], reference.arrays[name][ref_row]), name
    # cold: no history, collaborative factors unknown
    p = grown.products.row("p-new")
    assert grown.product[p, grown.product_names.index("p_has_history")] == 0
    assert not grown.arrays["cf_product_known"][p]
    # the bundle's rows are untouched, and so are earlier collaborations (pair keys re-encoded for the new width)
    assert np.array_equal(grown.product[: len(tables.products)], tables.product, equal_nan=True)
    pairs = tables.arrays["pair_keys"][:50]
    c_rows, p_rows = pairs // len(tables.products), pairs % len(tables.products)
    assert np.array_equal(grown.pair_orders(c_rows, p_rows), tables.pair_orders(c_rows, p_rows))
    assert len(result.engine.engagement.flagged) == len(grown.creators)


def test_cold_start_factors_are_the_ones_training_predicted(engine, base) -> None:  # type: ignore[no-untyped-def]
    tables = engine.tables
    for side in ("creator", "product"):
        cold = ~tables.arrays[f"cf_{side}_known"]
        assert cold.sum() >= 1
        predicted = getattr(base.cold, f"{side}_factors")(tables)
        np.testing.assert_allclose(predicted[cold], tables.arrays[f"cf_{side}"][cold], atol=1e-5)


def test_a_changed_product_keeps_its_history_and_takes_its_new_content(fixture_bundle, engine, base) -> None:  # type: ignore[no-untyped-def]
    from features.overlay import HISTORY_COLUMNS
    from models.overlay import overlay_engine
    from recsys.core.schema import Marketplace

    market, tables = fixture_bundle.market, engine.tables
    names = tables.product_names
    has_history = tables.product[:, names.index("p_has_history")] == 1
    row = int(np.flatnonzero(has_history)[0])
    product_id = tables.products.id(row)
    product = market.products[market.products["product_id"] == product_id].assign(price=lambda f: f["price"] * 2)
    part = Marketplace(
        merchants=market.merchants[market.merchants["merchant_id"].isin(product["merchant_id"])],
        products=product,
        creators=market.creators.iloc[:0],
        plans=market.plans[market.plans["product_id"] == product_id],
        promotions=_empty("promotions"),
        orders=_empty("orders"),
    )
    grown = overlay_engine(engine, part, tables.cutoff, 100, base).engine.tables
    assert len(grown.products) == len(tables.products) and grown.products.row(product_id) == row
    before, after = tables.product[row], grown.product[row]
    lp = names.index("p_log_price")
    assert after[lp] == pytest.approx(before[lp] + np.log(2), abs=1e-5)
    assert grown.arrays["product_price"][row] == pytest.approx(2 * tables.arrays["product_price"][row])
    for j, name in enumerate(names):
        if name in HISTORY_COLUMNS:
            assert _same(after[j], before[j]), name
    assert np.array_equal(grown.arrays["cf_product"][row], tables.arrays["cf_product"][row])  # had history


def test_new_rows_reach_the_retrieval_indexes(fixture_bundle, engine, base) -> None:  # type: ignore[no-untyped-def]
    from models.overlay import overlay_engine
    from models.retrieval.retriever import retrieval_blocks
    from recsys.core.vocab import Direction

    part, _ = _new_entities(fixture_bundle.market)
    result = overlay_engine(engine, part, engine.tables.cutoff, 100, base)
    retriever, grown = result.engine.retriever, result.engine.tables
    p, c = grown.products.row("p-new"), grown.creators.row("c-new")
    prior = engine.retriever.prior.column(grown, engine.rankers[Direction.CREATOR], np.array([p]))
    u, v, _ = retrieval_blocks(grown, base.norms, np.array([c]), np.array([p]), prior)
    np.testing.assert_array_equal(retriever.product_vectors[p], v[0])
    assert retriever.dim_names[-1] == "product_prior" and v[0, -1] == prior[0]  # the ranker prior, scored anew
    np.testing.assert_array_equal(retriever.creator_vectors[c], u[0])
    np.testing.assert_array_equal(retriever.product_vectors[:p], engine.retriever.product_vectors)
    assert retriever.product_index.n_rows == p + 1 and retriever.product_index.index_.ntotal == p + 1
    # a search over every product ranks the new one where its inner product puts it
    query = retriever.base(Direction.CREATOR, c)
    scores, rows = retriever.candidates(Direction.CREATOR, c, len(grown.products))
    expected = float(query @ (retriever.product_index.scale_ * retriever.product_vectors[p]))
    assert scores[list(rows).index(p)] == pytest.approx(expected, rel=1e-4, abs=1e-4)
    assert engine.retriever.product_index.n_rows == p  # the engine given is untouched


@pytest.mark.parametrize("kind", ["flat", "ivf", "hnsw"])
def test_an_index_with_more_rows_searches_them_all(kind: str) -> None:
    from models.retrieval.ann import VectorIndex

    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(2_000, 8)).astype(np.float32)
    scale = rng.uniform(0.5, 2.0, size=8).astype(np.float32)
    index = VectorIndex(kind=kind, nprobe=64).fit(vectors[:1_500], scale=scale)  # type: ignore[arg-type]
    grown = index.with_vectors(vectors, appended_only=True)
    exact = VectorIndex(kind="flat").fit(vectors, scale=scale)
    queries = rng.normal(size=(10, 8)).astype(np.float32)
    _, got = grown.search(queries, 10)
    _, want = exact.search(queries, 10)
    assert grown.n_rows == 2_000 and grown.kind_ == kind and index.n_rows == 1_500
    assert np.mean([len(set(g) & set(w)) / 10 for g, w in zip(got, want, strict=True)]) >= 0.9


def test_cold_start_maps_fit_in_the_background_are_the_foreground_ones(engine) -> None:  # type: ignore[no-untyped-def]
    from models.overlay import OverlayBase

    now, later = OverlayBase.of(engine), OverlayBase.of(engine, background=True)
    assert later.n_products == now.n_products and later.n_creators == now.n_creators
    for side in ("creator", "product"):  # .cold waits for the fit
        expected = getattr(now.cold, f"{side}_factors")(engine.tables)
        np.testing.assert_array_equal(getattr(later.cold, f"{side}_factors")(engine.tables), expected)


def test_cold_start_maps_kept_in_a_file_are_the_fitted_ones(engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A second base of the same bundle reads the maps the first one fitted and kept (no fit), with the same
    predictions; an unreadable file is fitted again."""
    from models.overlay import OverlayBase

    cache = tmp_path / "cold" / "cold-x.npz"
    first = OverlayBase.of(engine, cache=cache)
    assert cache.is_file()
    again = OverlayBase.of(engine, background=True, cache=cache)
    assert again.fitting.done()  # read at once, no thread
    for side in ("creator", "product"):
        expected = getattr(first.cold, f"{side}_factors")(engine.tables)
        np.testing.assert_array_equal(getattr(again.cold, f"{side}_factors")(engine.tables), expected)
    cache.write_bytes(b"damaged")
    refit = OverlayBase.of(engine, cache=cache)
    np.testing.assert_array_equal(refit.cold.creator_factors(engine.tables), first.cold.creator_factors(engine.tables))
