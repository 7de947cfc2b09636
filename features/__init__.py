"""Feature builders: raw marketplace tables -> point-in-time feature tables -> float32 vectors."""

from features.names import CATEGORICAL_FEATURES, FEATURE_NAMES, feature_names
from features.tables import FeatureTables, build_feature_tables

__all__ = ["CATEGORICAL_FEATURES", "FEATURE_NAMES", "FeatureTables", "build_feature_tables", "feature_names"]
