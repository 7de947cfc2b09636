"""The trained engine on the fixture marketplace: the rankers beat popularity on the validation window."""

from __future__ import annotations

import json


def test_ranker_beats_popularity_on_the_validation_window(fixture_bundle) -> None:  # type: ignore[no-untyped-def]
    metrics = json.loads((fixture_bundle.path / "manifest.json").read_text())["metrics"]
    for direction in ("creator", "product"):
        assert metrics[f"{direction}_valid_queries"] > 20
        assert metrics[f"{direction}_ndcg@10"] > metrics[f"{direction}_popularity_ndcg@10"], direction
