"""The multi-view content scorer: dominant hashtag directions removed, per-brand standardised views."""

from __future__ import annotations

import numpy as np

from recsys.app.experiments.brand_influencer.content import _csls, _hashtag_view, top_directions


def test_removed_directions_are_orthonormal_and_gone_from_the_view() -> None:
    rng = np.random.default_rng(0)
    common = rng.normal(size=(1, 16)) * 5.0  # one direction every account shares
    vectors = rng.normal(size=(200, 16)) + rng.normal(size=(200, 1)) * common
    directions = top_directions(vectors - vectors.mean(axis=0), 3)
    assert directions.shape == (3, 16)
    assert np.allclose(directions @ directions.T, np.eye(3), atol=1e-8)
    assert abs(directions[0] @ (common[0] / np.linalg.norm(common))) > 0.9  # the shared direction is found first
    view = _hashtag_view(vectors, np.zeros(16), directions)
    assert np.allclose(np.linalg.norm(view, axis=1), 1.0)
    assert np.allclose(view @ directions.T, 0.0, atol=1e-8)
    assert top_directions(vectors, 0).shape == (0, 16)


def test_csls_pushes_down_a_creator_close_to_every_training_brand() -> None:
    sims = np.array([[0.50, 0.45]])  # creator 0 slightly closer to the brand ...
    train_sims = np.array([[0.9, 0.1], [0.9, 0.2], [0.8, 0.1]])  # ... but close to every training brand (a hub)
    scores = _csls(sims, train_sims, k=2)
    assert scores[0, 1] > scores[0, 0]
