"""One check on the real shared data (skipped when ../shared/data is absent): shapes as documented and the
content features rank held-out brands' creators far above random. Reads only; well under a minute."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from recsys.app.experiments.brand_influencer.data import load_directory
from recsys.app.experiments.brand_influencer.evaluate import brand_metrics
from recsys.app.experiments.brand_influencer.experiment import brand_folds
from recsys.app.experiments.brand_influencer.features import FEATURE_NAMES
from recsys.app.experiments.brand_influencer.pipeline import PipelineSettings, fit_featurizer, pool_of, relevance

REAL = Path(__file__).resolve().parents[4].parent / "shared" / "data" / "brand_influencer" / "train"

pytestmark = pytest.mark.skipif(not (REAL / "pairs.csv").is_file(), reason=f"{REAL} not available")


def test_real_data_loads_and_content_features_work() -> None:
    data = load_directory(REAL)
    assert (len(data.brands), len(data.creators), len(data.pairs)) == (286, 3075, 3385)
    assert len(set(data.brands.category)) == 12
    train, test = brand_folds(len(data.brands), 5, seed=0)[0]
    featurizer = fit_featurizer(data, train, PipelineSettings(), seed=0)
    pool = pool_of(data, test)
    x = featurizer.transform(data.brands.subset(test), data.creators.subset(pool))
    assert np.isfinite(x).all()
    per_brand = brand_metrics(
        x[..., FEATURE_NAMES.index("weighted_sim")].astype(np.float64),
        relevance(data, test, pool),
        list(data.brands.ids[test]),
    )
    assert per_brand["r@50"].mean() > 0.35  # random is ~50 / len(pool) ~ 0.07
