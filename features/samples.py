"""Sample fulfilment features, point in time: how reliably a creator posts content after receiving a sample.

At a cutoff, a creator's ``c_sample_fulfilment_90d`` is the share of the samples shipped to it in the 90 days before
the cutoff that were followed by content (a promotion of the product) within 14 days, and ``c_samples_judged_90d``
the number of samples that share rests on — both from
:func:`recsys.core.workflows.fulfilment.sample_fulfilment_counts`, the rule the merchant-facing rate uses. Only what
was known before the cutoff counts: a sample shipped at or after it, or content reported at or after it, is not
read, and a sample shipped less than 14 days before it without content yet is not judged. A creator without a
judged sample has no rate (NaN: LightGBM sends missing values down their own branch) and a count of 0 — exactly what
a brand-new creator looks like (``features.overlay``, ``features.dropout``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.names import SAMPLE_FEATURES
from recsys.core.workflows.fulfilment import sample_fulfilment_counts


def sample_block(requests: pd.DataFrame, creators: pd.Index, cutoff: pd.Timestamp) -> pd.DataFrame:
    """:data:`~features.names.SAMPLE_FEATURES` per creator of ``creators`` (rows in that order) at ``cutoff``."""
    rate_name, judged_name = SAMPLE_FEATURES
    counts = sample_fulfilment_counts(requests, pd.Timestamp(cutoff).to_pydatetime())
    counts = counts.reindex(pd.Index(creators.astype(str)))
    judged = counts["judged"].fillna(0).to_numpy(np.float64)
    fulfilled = counts["fulfilled"].fillna(0).to_numpy(np.float64)
    rate = np.divide(fulfilled, judged, out=np.full(len(judged), np.nan), where=judged > 0)
    return pd.DataFrame({rate_name: rate, judged_name: judged}, index=creators)
