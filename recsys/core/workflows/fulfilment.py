"""A creator's sample fulfilment rate: of the samples shipped to it in the last 90 days, the share followed by
content (a promotion of the product) within 14 days of shipping.

Point in time: at ``now`` only what was known before ``now`` counts — samples shipped before it, content reported
before it. A sample shipped less than 14 days ago without content yet is not judged (it may still be fulfilled):
it counts neither way. A creator without a judged sample has no rate (absent, shown as null).
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

FULFILMENT_WINDOW_DAYS = 90
CONTENT_DAYS = 14
FULFILMENT_COLUMNS = ("creator_id", "shipped_at", "content_started_at", "content_recorded_at")


def sample_fulfilment_counts(
    requests: pd.DataFrame,
    now: datetime,
    window_days: int = FULFILMENT_WINDOW_DAYS,
    content_days: int = CONTENT_DAYS,
) -> pd.DataFrame:
    """Per creator id, ``fulfilled`` and ``judged`` samples among those shipped in ``[now − window_days, now)``.

    requests : DataFrame with :data:`FULFILMENT_COLUMNS` (one row per sample request; NaT where a step did not
        happen). Returns an int frame indexed by creator id (creators without a judged sample left out). The
        features (``features.samples``) and the merchant-facing rate (:func:`sample_fulfilment_rates`) both read it.
    """
    end = pd.Timestamp(now)
    shipped = pd.to_datetime(requests["shipped_at"])
    started = pd.to_datetime(requests["content_started_at"])
    recorded = pd.to_datetime(requests["content_recorded_at"])
    in_window = (shipped >= end - pd.Timedelta(days=window_days)) & (shipped < end)
    deadline = shipped + pd.Timedelta(days=content_days)
    fulfilled = in_window & (recorded < end) & (started >= shipped) & (started <= deadline)
    judged = fulfilled | (in_window & (deadline <= end))
    frame = pd.DataFrame({"creator_id": requests["creator_id"].astype(str), "fulfilled": fulfilled, "judged": judged})[
        judged.to_numpy(bool)
    ]
    sums = frame.groupby("creator_id")[["fulfilled", "judged"]].sum()
    return sums.astype(np.int64)


def sample_fulfilment_rates(
    requests: pd.DataFrame,
    now: datetime,
    window_days: int = FULFILMENT_WINDOW_DAYS,
    content_days: int = CONTENT_DAYS,
) -> pd.Series:
    """Per creator id, fulfilled / judged samples shipped in ``[now − window_days, now)``.

    requests : DataFrame with :data:`FULFILMENT_COLUMNS` (one row per sample request; NaT where a step did not
        happen). Returns a float Series indexed by creator id (creators without a judged sample left out).
    """
    sums = sample_fulfilment_counts(requests, now, window_days, content_days)
    if sums.empty:
        return pd.Series(dtype=np.float64, name="sample_fulfilment_rate")
    rates = (sums["fulfilled"] / sums["judged"]).astype(np.float64)
    return rates.rename("sample_fulfilment_rate")
