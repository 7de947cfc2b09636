"""Creator and product feature blocks (one row per entity), point-in-time at a cutoff."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.history import History, distinct_partners, window_aggregates
from features.names import CREATOR_FEATURES, PRODUCT_FEATURES, extra_names
from features.samples import sample_block
from recsys.core.schema import (
    AUDIENCE_KEYS,
    CAPACITY_COLUMNS,
    PUBLIC_PLAN_TYPES,
    TABLES,
    audience_columns,
    sample_requests_frame,
)
from recsys.core.vocab import FanTier


@dataclass(frozen=True)
class Extras:
    """Extra columns of an entity table: numeric ones and fixed-length embeddings (name -> dimension)."""

    numeric: list[str]
    embeddings: dict[str, int]

    @classmethod
    def of(cls, frame: pd.DataFrame, table: str) -> Extras:
        known = set(TABLES[table].column_names) | set(CAPACITY_COLUMNS.get(table, ()))
        numeric: list[str] = []
        embeddings: dict[str, int] = {}
        for col in frame.columns:
            if col in known:
                continue
            series = frame[col]
            if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
                numeric.append(col)
                continue
            first = series.dropna()
            if len(first) and isinstance(first.iloc[0], list | tuple | np.ndarray):
                embeddings[col] = len(first.iloc[0])
        return cls(numeric, embeddings)

    def matrix(self, frame: pd.DataFrame) -> np.ndarray:
        """The extra columns as float columns (embeddings expanded), in :func:`extra_names` order."""
        blocks = [frame[self.numeric].to_numpy(np.float64)] if self.numeric else []
        for col in self.embeddings:
            blocks.append(embedding_matrix(frame[col], self.embeddings[col]))
        return np.hstack(blocks) if blocks else np.zeros((len(frame), 0))


def embedding_matrix(series: pd.Series, dim: int) -> np.ndarray:
    """A list-of-floats column as an (n, dim) array; missing rows are NaN."""
    values = series.to_numpy()
    if len(values) and all(isinstance(v, list | tuple | np.ndarray) and len(v) == dim for v in values):
        return np.asarray(np.stack([np.asarray(v, dtype=np.float64) for v in values]))
    out = np.full((len(series), dim), np.nan)
    for i, value in enumerate(values):
        if isinstance(value, list | tuple | np.ndarray) and len(value) == dim:
            out[i] = np.asarray(value, dtype=np.float64)
    return out


def _days(cutoff: pd.Timestamp, when: pd.Series) -> np.ndarray:
    return ((cutoff - when).dt.total_seconds() / 86400).to_numpy(np.float64)


def fan_tier_codes(followers: np.ndarray) -> np.ndarray:
    """Ordinal fan tier (0 = nano .. 4 = mega) per follower count."""
    return FanTier.codes(followers)


def creator_block(
    creators: pd.DataFrame, history: History, cutoff: pd.Timestamp, extras: Extras, samples: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Creator features: reach, engagement, audience, tenure, sales windows and sample fulfilment (``samples``: the
    marketplace's sample requests; none = no creator has a rate), plus extra columns."""
    index = pd.Index(creators["creator_id"])
    followers = creators["followers"].to_numpy(np.float64)
    out = pd.DataFrame(index=index)
    out["c_log_followers"] = np.log1p(followers)
    out["c_fan_tier"] = fan_tier_codes(followers).astype(np.float64)
    out["c_log_avg_views"] = np.log1p(creators["avg_views"].to_numpy(np.float64))
    for col in ("like_rate", "comment_rate", "share_rate", "completion_rate"):
        out[f"c_{col}"] = creators[col].to_numpy(np.float64)
    out["c_days_since_joined"] = _days(cutoff, creators["joined_at"])
    out["c_n_categories"] = creators["categories"].map(len).to_numpy(np.float64)
    for key, col in zip(AUDIENCE_KEYS, audience_columns("aud"), strict=True):
        out[f"c_aud_{key}"] = creators[col].to_numpy(np.float64)
    requests = samples if samples is not None else sample_requests_frame()
    out = pd.concat(
        [out, window_aggregates(history, "c").set_index(index), sample_block(requests, index, cutoff)], axis=1
    )
    out = out[CREATOR_FEATURES]
    extra = extras.matrix(creators)
    names = extra_names("c", extras.numeric, extras.embeddings)
    return pd.concat([out, pd.DataFrame(extra, index=index, columns=names)], axis=1)


def best_public_rate(plans: pd.DataFrame, product_index: pd.Index, cutoff: pd.Timestamp) -> np.ndarray:
    """Highest base rate of the open or tiered plans active at ``cutoff`` per product (NaN if none)."""
    public = plans[plans["plan_type"].isin(PUBLIC_PLAN_TYPES)]
    active = (public["starts_at"] <= cutoff) & (public["ends_at"].isna() | (public["ends_at"] > cutoff))
    rate = public[active].groupby("product_id")["commission_rate"].max()
    return rate.reindex(product_index).to_numpy(np.float64)


def product_block(
    products: pd.DataFrame,
    merchants: pd.DataFrame,
    plans: pd.DataFrame,
    history: History,
    cutoff: pd.Timestamp,
    categories: list[str],
    experience_scale: int,
    extras: Extras,
) -> pd.DataFrame:
    """Product features: category, price, quality, commission, target audience, sales windows, merchant quality."""
    index = pd.Index(products["product_id"])
    out = pd.DataFrame(index=index)
    category = pd.Categorical(products["category"], categories=categories)
    out["p_category"] = category.codes.astype(np.float64)
    log_price = np.log(products["price"].to_numpy(np.float64))
    out["p_log_price"] = log_price
    by_cat = pd.Series(log_price).groupby(category.codes)
    out["p_price_band"] = by_cat.rank(pct=True).to_numpy(np.float64)
    out["p_price_vs_category"] = log_price - by_cat.transform("median").to_numpy(np.float64)
    out["p_rating"] = products["rating"].to_numpy(np.float64)
    out["p_service_score"] = products["service_score"].to_numpy(np.float64)
    out["p_days_listed"] = _days(cutoff, products["listed_at"])
    rate = best_public_rate(plans, index, cutoff)
    out["p_best_rate"] = rate
    cat_median = pd.Series(rate).groupby(category.codes).transform("median").to_numpy(np.float64)
    out["p_rate_vs_category"] = rate / cat_median
    target = products[audience_columns("target")].to_numpy(np.float64)
    out["p_has_target"] = (~np.isnan(target).any(axis=1)).astype(np.float64)
    for j, key in enumerate(AUDIENCE_KEYS):
        out[f"p_target_{key}"] = target[:, j]
    out = pd.concat([out, window_aggregates(history, "p").set_index(index)], axis=1)
    out["p_n_creators_90d"] = distinct_partners(history, 90)
    m = merchants.set_index("merchant_id").reindex(products["merchant_id"])
    scale = 100.0 / experience_scale
    out["m_experience_score"] = m["experience_score"].to_numpy(np.float64) * scale
    out["m_good_review_rate"] = m["good_review_rate"].to_numpy(np.float64)
    out["m_violations_90d"] = m["violations_90d"].to_numpy(np.float64)
    out["m_alliance_closures"] = m["alliance_closures"].to_numpy(np.float64)
    out["m_days_since_joined"] = _days(cutoff, m["joined_at"].reset_index(drop=True)).reshape(-1)
    out = out[PRODUCT_FEATURES]
    extra = extras.matrix(products)
    names = extra_names("p", extras.numeric, extras.embeddings)
    return pd.concat([out, pd.DataFrame(extra, index=index, columns=names)], axis=1)
