"""How well flags find the fakes: precision and recall against a known truth (the synthetic world's)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from recsys.core.synth.fake_engagement import FakeEngagement


@dataclass(frozen=True)
class DetectionQuality:
    """``precision`` = flagged fakes / flagged creators, ``recall`` = flagged fakes / fakes (NaN when the
    denominator is 0), with the counts they come from and the recall per kind of fake (NaN without truth per kind)."""

    precision: float
    recall: float
    flagged: int
    fakes: int
    caught: int
    recall_followers_only: float = np.nan
    recall_views_only: float = np.nan
    recall_both: float = np.nan

    def as_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in asdict(self).items()}


def _share(part: int, whole: int) -> float:
    return part / whole if whole else float("nan")


def detection_quality(flagged: np.ndarray, fake: np.ndarray) -> DetectionQuality:
    """Precision and recall of boolean ``flagged`` against boolean ``fake`` (aligned, same length)."""
    flagged, fake = np.asarray(flagged, dtype=bool), np.asarray(fake, dtype=bool)
    if flagged.shape != fake.shape:
        raise ValueError(f"flags {flagged.shape} and truth {fake.shape} are not aligned")
    caught = int((flagged & fake).sum())
    n_flagged, n_fake = int(flagged.sum()), int(fake.sum())
    return DetectionQuality(_share(caught, n_flagged), _share(caught, n_fake), n_flagged, n_fake, caught)


def detection_against_truth(flagged: np.ndarray, creator_ids: np.ndarray, truth: FakeEngagement) -> DetectionQuality:
    """:func:`detection_quality` of flags on ``creator_ids`` (e.g. ``tables.creators.ids``) against the synthetic
    world's record, with recall per kind: followers only, views only, both."""
    flagged = np.asarray(flagged, dtype=bool)
    rows = pd.Index(truth.creator_ids).get_indexer(np.asarray(creator_ids))
    if (rows < 0).any():
        raise KeyError("unknown creator id in the fake-engagement truth")
    followers, views = truth.bought_followers[rows], truth.bought_views[rows]
    overall = detection_quality(flagged, followers | views)

    def recall(kind: np.ndarray) -> float:
        return _share(int((flagged & kind).sum()), int(kind.sum()))

    return DetectionQuality(
        **{
            **asdict(overall),
            "recall_followers_only": recall(followers & ~views),
            "recall_views_only": recall(views & ~followers),
            "recall_both": recall(followers & views),
        }
    )


__all__ = ["DetectionQuality", "detection_against_truth", "detection_quality"]
