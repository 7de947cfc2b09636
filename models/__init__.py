"""Models: FAISS retrieval, LightGBM ranking and outcome models, the versioned bundle and the matcher."""

import recsys  # noqa: F401  (sets the threading defaults before LightGBM / FAISS load)
