"""Precision and recall of flags against a known truth, checked by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from models.integrity.evaluation import detection_against_truth, detection_quality
from recsys.core.synth.fake_engagement import FakeEngagement


def test_precision_and_recall_by_hand() -> None:
    q = detection_quality(np.array([1, 1, 0, 0, 1], bool), np.array([1, 0, 1, 0, 1], bool))
    assert (q.flagged, q.fakes, q.caught) == (3, 3, 2)
    assert q.precision == pytest.approx(2 / 3) and q.recall == pytest.approx(2 / 3)
    nothing = detection_quality(np.zeros(3, bool), np.array([1, 0, 0], bool))
    assert math.isnan(nothing.precision) and nothing.recall == 0.0
    with pytest.raises(ValueError, match="aligned"):
        detection_quality(np.zeros(3, bool), np.zeros(4, bool))


def test_against_the_synthetic_record_by_id_with_recall_per_kind() -> None:
    truth = FakeEngagement(
        creator_ids=np.array(["a", "b", "c", "d", "e"], dtype=object),
        bought_followers=np.array([True, False, True, False, False]),
        bought_views=np.array([False, True, True, False, False]),
        follower_factor=np.array([3.0, 1, 5, 1, 1]),
        view_factor=np.array([1.0, 4, 2, 1, 1]),
        real_followers=np.array([10, 20, 30, 40, 50]),
    )
    # flags given in another order: e, c, b, a, d -> flagged e (honest), c (both), a (followers only)
    q = detection_against_truth(np.array([1, 1, 0, 1, 0], bool), np.array(["e", "c", "b", "a", "d"]), truth)
    assert (q.flagged, q.fakes, q.caught) == (3, 3, 2)
    assert q.precision == pytest.approx(2 / 3) and q.recall == pytest.approx(2 / 3)
    assert (q.recall_followers_only, q.recall_views_only, q.recall_both) == (1.0, 0.0, 1.0)
    assert q.as_dict()["recall_both"] == 1.0
    with pytest.raises(KeyError):
        detection_against_truth(np.zeros(1, bool), np.array(["zz"]), truth)
