"""The trained engine on the fixture marketplace: the rankers beat popularity on the validation window."""

from __future__ import annotations

import json


def test_ranker_beats_popularity_on_the_validation_window(fixture_bundle) -> None:  # type: ignore[no-untyped-def]
    metrics = json.loads((fixture_bundle.path / "manifest.json").read_text())["metrics"]
    for direction in ("creator", "product"):
        assert metrics[f"{direction}_valid_queries"] > 20
        assert metrics[f"{direction}_ndcg@10"] > metrics[f"{direction}_popularity_ndcg@10"], direction


def test_the_gmv_model_learns_from_new_collaborations_with_its_own_leaves(fixture_bundle) -> None:  # type: ignore[no-untyped-def]
    """``ranker.gmv_pairs = "new"``: the GMV model learns from first collaborations only — a repeat collaboration's
    history (``x_prev_*``) never splits it — with its own leaf settings; ``"all"`` learns from every pair."""
    import numpy as np
    import pytest

    from models.training.train import gmv_windows, train_outcome_models
    from models.training.windows import make_windows

    settings = fixture_bundle.settings
    r = settings.ranker
    windows, valid = make_windows(
        fixture_bundle.market, r.label_days, r.train_windows, r.valid_days, None, 100, settings.retrieval.cf_factors, 5
    )
    learned = gmv_windows(windows, r)
    for window, kept in zip(windows, learned, strict=True):
        n_p = len(window.tables.products)
        earlier = np.asarray(window.tables.arrays["pair_keys"], dtype=np.int64)
        key = window.pairs["c_row"].to_numpy(np.int64) * n_p + window.pairs["p_row"].to_numpy(np.int64)
        is_new = ~np.isin(key, earlier)
        assert 0 < is_new.sum() < len(window.pairs)  # the fixture has both kinds
        assert kept.pairs.index.tolist() == window.pairs.index[is_new].tolist()
    assert gmv_windows(windows, r.model_copy(update={"gmv_pairs": "all"})) is windows

    names = valid.tables.feature_names
    new_only, _ = train_outcome_models(windows, valid, names, settings, 5)
    every = settings.model_copy(update={"ranker": r.model_copy(update={"gmv_pairs": "all"})})
    all_pairs, _ = train_outcome_models(windows, valid, names, every, 5)
    history = ("x_prev_promotions", "x_prev_gmv")
    assert all(new_only.feature_importance()[f] == 0 for f in history)
    assert sum(all_pairs.feature_importance()[f] for f in history) > 0
    leaves = [t["num_leaves"] for t in new_only.booster_.dump_model()["tree_info"]]
    assert max(leaves) <= r.gmv_num_leaves < r.num_leaves

    no_new = [type(w)(w.start, w.end, w.tables, w.pairs.iloc[:0]) for w in windows]
    with pytest.raises(ValueError, match="gmv_pairs"):
        gmv_windows(no_new, r)
