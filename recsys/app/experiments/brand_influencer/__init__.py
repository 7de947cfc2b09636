"""brand-influencer adapter: brands -> micro-influencers (Instagram), cold start, from content features only.

Public surface: ``DATASET``, ``Config`` and ``run(config, seed, data_dir)`` (the experiment adapter contract of
:mod:`recsys.app.experiments.framework.base`), ``train_to_dir`` (``recsys train --dataset brand-influencer:PATH``) and
``score_to_file`` (``recsys score``). See docs/brand_influencer.md.

Modules: ``data`` (read and validate a directory), ``features`` (content pair features), ``pipeline`` (FAISS
retrieval + LambdaRank), ``evaluate`` (per-brand metrics), ``experiment`` (cross-validation and baselines),
``folds`` (brand-disjoint and creator-disjoint CV folds), ``content`` (multi-view content scores), ``artifacts``
(train to a folder, score candidates).
"""

from recsys.app.experiments.brand_influencer.artifacts import ArtifactError, score_to_file, train_to_dir
from recsys.app.experiments.brand_influencer.data import BrandDataError
from recsys.app.experiments.brand_influencer.experiment import DATASET, PUBLISHED, Config, run, run_cv

__all__ = [
    "DATASET",
    "PUBLISHED",
    "ArtifactError",
    "BrandDataError",
    "Config",
    "run",
    "run_cv",
    "score_to_file",
    "train_to_dir",
]
