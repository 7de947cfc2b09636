"""The trained engine on the fixture marketplace: better than popularity, retrieval agrees with the ranker."""

from __future__ import annotations

import json


def test_ranker_beats_popularity_on_the_validation_window(fixture_bundle) -> None:  # type: ignore[no-untyped-def]
    metrics = json.loads((fixture_bundle.path / "manifest.json").read_text())["metrics"]
    for direction in ("creator", "product"):
        assert metrics[f"{direction}_valid_queries"] > 20
        assert metrics[f"{direction}_ndcg@10"] > metrics[f"{direction}_popularity_ndcg@10"], direction


def test_retrieval_finds_what_the_ranker_ranks_highest(fixture_bundle) -> None:  # type: ignore[no-untyped-def]
    metrics = json.loads((fixture_bundle.path / "manifest.json").read_text())["metrics"]
    # recall_k is 100 of 1,200 products / 300 creators in the fixture
    assert metrics["creator_recall@100_of_ranker_top10"] >= 0.8
    assert metrics["product_recall@100_of_ranker_top10"] >= 0.8
    assert metrics["product_index_recall@100"] == 1.0  # exact index below the threshold


def test_an_approximate_index_below_the_recall_floor_falls_back_to_exact_search(fixture_bundle) -> None:  # type: ignore[no-untyped-def]
    from models.bundle import load_bundle
    from models.retrieval.build import build_retriever
    from recsys.core.config import RetrievalSettings

    engine = load_bundle(fixture_bundle.path).engine
    base = {"exact_threshold": 100, "ivf_nlist": 30, "ivf_nprobe": 1, "distill_queries": 60, "recall_queries": 15}
    kept, kept_metrics = build_retriever(
        engine.tables, engine.rankers, RetrievalSettings(**base, min_index_recall=0.0, candidates=100), seed=1
    )
    assert kept.product_index.kind_ == "ivf" and kept_metrics["product_index_recall@candidates"] < 0.99
    fallen, metrics = build_retriever(
        engine.tables, engine.rankers, RetrievalSettings(**base, min_index_recall=0.99, candidates=100), seed=1
    )
    assert fallen.product_index.kind_ == "flat" and fallen.creator_index.kind_ == "flat"
    assert "exact search" in metrics["product_index_fallback"]
    assert metrics["product_index_recall@candidates"] == 1.0
