"""Sample requests of the synthetic marketplace (寄样): which promotions a sample preceded, and the samples that were
shipped and never followed by content.

Each creator has a hidden *fulfilment propensity*, the chance that a sample it receives is followed by content:

    propensity_c = σ(PROPENSITY_BIAS + PROPENSITY_SKILL · s_c + ε_c),   ε_c ~ N(0, PROPENSITY_NOISE)

where ``s_c`` is the creator's hidden skill (:mod:`recsys.core.synth.truth`), the trait that also drives its views,
click-through and conversion: a reliable creator sells more, and the fulfilment rate is one more noisy view of that
(mean ≈ 0.7; ≈ 0.4 at s = −1, ≈ 0.9 at s = +1). True GMV does not depend on it.

- The first promotion of a (creator, product) pair was preceded by a sample with probability ``SAMPLED_SHARE``:
  requested 1–4 days before shipping, shipped 1–7 days before the promotion started, the content (that promotion)
  reported 0–2 days after it started.
- Each creator also received samples it never followed with content: as many as a creator of its propensity
  leaves unanswered for the samples it did answer (negative binomial: failures before that many successes),
  shipped uniformly over the history, to random products.

Everything is drawn from its own generator, ``default_rng([seed, SAMPLE_STREAM])``, after the rest of the world, so
every other table is the same as without it, for the same seed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from recsys.core.schema import sample_requests_frame

SAMPLE_STREAM = 19  # the second word of the samples' seed: default_rng([seed, SAMPLE_STREAM])
SAMPLED_SHARE = 0.35  # share of first collaborations that began with a sample
PROPENSITY_BIAS, PROPENSITY_SKILL, PROPENSITY_NOISE = 1.0, 1.2, 0.5
DAY = pd.Timedelta(days=1)


def fulfilment_propensity(rng: np.random.Generator, skill: np.ndarray) -> np.ndarray:
    """The hidden chance per creator that a sample is followed by content (float64 in (0, 1))."""
    skill = np.asarray(skill, dtype=np.float64)
    noise = rng.normal(0.0, PROPENSITY_NOISE, len(skill))
    return np.asarray(1.0 / (1.0 + np.exp(-(PROPENSITY_BIAS + PROPENSITY_SKILL * skill + noise))))


def _days(rng: np.random.Generator, low: float, high: float, n: int) -> pd.TimedeltaIndex:
    """``n`` durations uniform in ``[low, high)`` days, whole seconds."""
    return pd.to_timedelta(np.round(rng.uniform(low, high, n) * 86400).astype(np.int64), unit="s")


def _fulfilled(rng: np.random.Generator, promotions: pd.DataFrame) -> pd.DataFrame:
    """Samples that preceded the first promotion of a share of the pairs (content = that promotion)."""
    first = promotions.sort_values(["started_at", "promotion_id"], kind="stable")
    first = first.drop_duplicates(["creator_id", "product_id"]).sort_index()
    first = first[rng.random(len(first)) < SAMPLED_SHARE].reset_index(drop=True)
    n = len(first)
    shipped = first["started_at"] - _days(rng, 1, 7, n)
    return pd.DataFrame(
        {
            "creator_id": first["creator_id"].to_numpy(object),
            "product_id": first["product_id"].to_numpy(object),
            "requested_at": shipped - _days(rng, 1, 4, n),
            "shipped_at": shipped,
            "content_promotion_id": first["promotion_id"].to_numpy(object),
            "content_started_at": first["started_at"],
            "content_recorded_at": first["started_at"] + _days(rng, 0, 2, n),
        }
    )


def _unfulfilled(
    rng: np.random.Generator,
    answered: np.ndarray,
    propensity: np.ndarray,
    creator_ids: np.ndarray,
    product_ids: np.ndarray,
    span: tuple[pd.Timestamp, pd.Timestamp],
) -> pd.DataFrame:
    """Samples shipped and never followed: per creator, failures before its ``answered`` successes."""
    failures = np.where(answered > 0, rng.negative_binomial(np.maximum(answered, 1), propensity), 0)
    creator_rows = np.repeat(np.arange(len(creator_ids)), failures)
    n = len(creator_rows)
    start, end = span
    shipped = start + _days(rng, 0, (end - start) / DAY, n)
    return pd.DataFrame(
        {
            "creator_id": creator_ids[creator_rows],
            "product_id": product_ids[rng.integers(0, len(product_ids), n)],
            "requested_at": shipped - _days(rng, 1, 4, n),
            "shipped_at": shipped,
            "content_promotion_id": None,
            "content_started_at": pd.NaT,
            "content_recorded_at": pd.NaT,
        }
    )


def make_sample_requests(
    seed: int,
    promotions: pd.DataFrame,
    creator_ids: np.ndarray,
    skill: np.ndarray,
    product_ids: np.ndarray,
    as_of: pd.Timestamp,
    history_days: int,
) -> tuple[pd.DataFrame, np.ndarray]:
    """(the sample requests, the creators' hidden propensities), drawn from ``default_rng([seed, SAMPLE_STREAM])``.

    Requests are ordered by shipping time and numbered ``sr{n}``; nothing is shipped after ``as_of``."""
    rng = np.random.default_rng([seed, SAMPLE_STREAM])
    propensity = fulfilment_propensity(rng, skill)
    fulfilled = _fulfilled(rng, promotions)
    answered = pd.Index(creator_ids).get_indexer(pd.Index(fulfilled["creator_id"]))
    counts = np.bincount(answered[answered >= 0], minlength=len(creator_ids))
    span = (as_of - pd.Timedelta(days=history_days), as_of - DAY)
    unfulfilled = _unfulfilled(rng, counts, propensity, np.asarray(creator_ids, object), product_ids, span)
    both = pd.concat([fulfilled, unfulfilled], ignore_index=True)
    both = both.sort_values(["shipped_at", "creator_id", "product_id"], kind="stable", ignore_index=True)
    both.insert(0, "request_id", [f"sr{i:07d}" for i in range(len(both))])
    return sample_requests_frame(both), propensity


__all__ = ["SAMPLE_STREAM", "fulfilment_propensity", "make_sample_requests"]
