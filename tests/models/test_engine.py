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
