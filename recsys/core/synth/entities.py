"""Merchants, products and creators of the synthetic marketplace, with their hidden latent state."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from recsys.core.schema import AUDIENCE_KEYS, PROMOTION_FORMATS, audience_columns
from recsys.core.synth.world import (
    CATEGORIES,
    CATEGORY_NAMES,
    N_CATEGORIES,
    REGION_TIER1_TILT,
    REGION_WEIGHTS,
    REGIONS,
    TASTE_DIM,
    category_audience,
    category_weights,
    dirichlet_groups,
    round_shares,
)

EMBEDDING_DIM = 8  # extra embedding columns: creators.content_embedding, products.title_embedding


def _ids(prefix: str, n: int) -> np.ndarray:
    width = max(5, len(str(n)))
    return np.array([f"{prefix}{i:0{width}d}" for i in range(n)], dtype=object)


def _days_before(as_of: pd.Timestamp, days: np.ndarray) -> pd.DatetimeIndex:
    seconds = np.round(np.asarray(days) * 86400).astype("int64")
    return pd.DatetimeIndex(as_of - pd.to_timedelta(seconds, unit="s"))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


@dataclass
class EmbeddingSpace:
    """Shared space of the content/title embeddings: a vector per category and a projection of hidden taste."""

    category_vectors: np.ndarray  # (n_categories, EMBEDDING_DIM)
    taste_projection: np.ndarray  # (TASTE_DIM, EMBEDDING_DIM)

    @classmethod
    def draw(cls, rng: np.random.Generator) -> EmbeddingSpace:
        return cls(rng.normal(size=(N_CATEGORIES, EMBEDDING_DIM)), rng.normal(size=(TASTE_DIM, EMBEDDING_DIM)))

    def embed(self, rng: np.random.Generator, category: np.ndarray, taste: np.ndarray, noise: float) -> np.ndarray:
        e = 0.6 * self.category_vectors[category] + 1.2 * taste @ self.taste_projection
        e = e + noise * rng.normal(size=e.shape)
        return np.round(e / np.linalg.norm(e, axis=1, keepdims=True), 4).astype(np.float32)


def _embedding_column(matrix: np.ndarray) -> list[list[float]]:
    return [row.tolist() for row in matrix]


@dataclass
class Merchants:
    frame: pd.DataFrame
    quality: np.ndarray  # hidden merchant quality
    main_category: np.ndarray


def make_merchants(rng: np.random.Generator, n: int, as_of: pd.Timestamp) -> Merchants:
    quality = rng.normal(size=n)
    age_days = np.where(rng.random(n) < 0.06, rng.uniform(1, 59, n), rng.uniform(60, 1500, n))
    closures = rng.choice([0, 1, 2, 3], size=n, p=[0.935, 0.04, 0.017, 0.008])
    frame = pd.DataFrame(
        {
            "merchant_id": _ids("m", n),
            "name": [f"Shop {i}" for i in range(n)],
            "joined_at": _days_before(as_of, age_days),
            "experience_score": np.round(np.clip(84 + 9 * quality + rng.normal(0, 4, n), 30, 100), 1),
            "good_review_rate": np.round(np.clip(0.9 + 0.045 * quality + rng.normal(0, 0.03, n), 0.5, 1.0), 4),
            "violations_90d": rng.poisson(0.04 * np.exp(-0.5 * quality)),
            "alliance_closures": closures,
            "region": np.array(REGIONS, dtype=object)[rng.choice(len(REGIONS), size=n, p=REGION_WEIGHTS)],
        }
    )
    main = rng.choice(N_CATEGORIES, size=n, p=category_weights())
    return Merchants(frame, quality, main)


@dataclass
class Products:
    frame: pd.DataFrame
    merchant_row: np.ndarray
    category: np.ndarray
    price: np.ndarray
    appeal: np.ndarray
    rating: np.ndarray
    target: np.ndarray  # true target audience
    taste: np.ndarray
    base_rate: np.ndarray
    refund_rate: np.ndarray
    popularity: np.ndarray  # platform exposure weight (drives which products creators pick)


def make_products(
    rng: np.random.Generator,
    n: int,
    merchants: Merchants,
    as_of: pd.Timestamp,
    history_days: int,
    target_published_share: float,
    space: EmbeddingSpace,
) -> Products:
    n_m = len(merchants.frame)
    size = rng.lognormal(0.0, 1.0, n_m)
    merchant_row = rng.choice(n_m, size=n, p=size / size.sum())
    own = rng.random(n) < 0.8
    category = np.where(
        own, merchants.main_category[merchant_row], rng.choice(N_CATEGORIES, size=n, p=category_weights())
    )
    median = np.array([c.median_price for c in CATEGORIES])[category]
    price = np.round(np.maximum(1.0, median * np.exp(rng.normal(0, 0.55, n))), 2)
    g = merchants.quality[merchant_row]
    appeal = rng.normal(0, 0.6, n) + 0.15 * g
    rating = np.round(np.clip(4.4 + 0.3 * appeal + 0.15 * g + rng.normal(0, 0.15, n), 1, 5), 2)
    service = np.round(np.clip(4.5 + 0.25 * g + rng.normal(0, 0.15, n), 1, 5), 2)
    target = dirichlet_groups(rng, category_audience(category, rng.normal(0, 0.3, n)), 40.0)
    taste = rng.normal(0, 1 / np.sqrt(TASTE_DIM), (n, TASTE_DIM))
    typical = np.array([c.commission for c in CATEGORIES])[category]
    base_rate = np.round(np.clip(typical * np.exp(rng.normal(0, 0.3, n)), 0.05, 0.30), 3)
    shipping_days = np.round(np.clip(rng.gamma(3.0, 1.0, n), 0.5, 15), 1)
    refund_rate = _sigmoid(-2.7 - 0.9 * (rating - 4.4) - 0.3 * g + 0.1 * (shipping_days - 3))
    new = rng.random(n) < 0.3
    listed_days = np.where(new, rng.uniform(1, history_days, n), history_days + rng.uniform(0, 700, n))
    zipf = rng.permutation(np.arange(1, n + 1)) ** -0.7
    popularity = zipf * np.exp(0.9 * appeal + 4.0 * base_rate + 0.5 * (rating - 4.4))
    published = rng.random(n) < target_published_share
    shares = round_shares(target)
    frame = pd.DataFrame(
        {
            "product_id": _ids("p", n),
            "merchant_id": merchants.frame["merchant_id"].to_numpy()[merchant_row],
            "title": [f"{CATEGORY_NAMES[k].replace('_', ' ')} item {i}" for i, k in enumerate(category)],
            "category": np.array(CATEGORY_NAMES, dtype=object)[category],
            "price": price,
            "rating": rating,
            "service_score": service,
            "listed_at": _days_before(as_of, listed_days),
        }
    )
    for j, col in enumerate(audience_columns("target")):
        frame[col] = np.where(published, shares[:, j], np.nan)
    frame["shipping_days"] = shipping_days  # extra numeric column
    frame["title_embedding"] = _embedding_column(space.embed(rng, category, taste, noise=0.6))  # extra embedding
    return Products(
        frame, merchant_row, category, price, appeal, rating, target, taste, base_rate, refund_rate, popularity
    )


@dataclass
class Creators:
    frame: pd.DataFrame
    skill: np.ndarray
    audience: np.ndarray
    affinity: np.ndarray  # true affinity per category (listed categories + hidden noise)
    categories: list[np.ndarray]  # category codes, main first
    taste: np.ndarray
    format_weights: np.ndarray
    avg_views: np.ndarray
    admitted: np.ndarray  # real name & showcase & deposit
    region_row: np.ndarray
    joined_days_ago: np.ndarray


def _creator_categories(rng: np.random.Generator, n: int) -> list[np.ndarray]:
    weights = category_weights()
    main = rng.choice(N_CATEGORIES, size=n, p=weights)
    n_secondary = rng.choice([0, 1, 2], size=n, p=[0.4, 0.4, 0.2])
    out: list[np.ndarray] = []
    for i in range(n):
        if n_secondary[i] == 0:
            out.append(np.array([main[i]]))
            continue
        w = weights.copy()
        w[main[i]] = 0
        extra = rng.choice(N_CATEGORIES, size=n_secondary[i], replace=False, p=w / w.sum())
        out.append(np.concatenate([[main[i]], extra]))
    return out


def make_creators(rng: np.random.Generator, n: int, as_of: pd.Timestamp, space: EmbeddingSpace) -> Creators:
    followers = np.minimum(np.floor(1000 * (1 - rng.random(n)) ** (-1 / 0.75)), 30_000_000).astype(np.int64)
    region_row = rng.choice(len(REGIONS), size=n, p=REGION_WEIGHTS)
    cats = _creator_categories(rng, n)
    main = np.array([c[0] for c in cats])
    mix = category_audience(main, REGION_TIER1_TILT[region_row])
    for i, c in enumerate(cats):
        if len(c) > 1:
            mix[i] = 0.7 * mix[i] + 0.3 * category_audience(c[1:], REGION_TIER1_TILT[region_row[i]]).mean(axis=0)
    audience = dirichlet_groups(rng, mix, 25.0)
    skill = rng.normal(size=n)
    affinity = rng.normal(0, 0.25, (n, N_CATEGORIES))
    for i, c in enumerate(cats):
        affinity[i, c[0]] += 1.0
        affinity[i, c[1:]] += 0.6
    taste = rng.normal(0, 1 / np.sqrt(TASTE_DIM), (n, TASTE_DIM))
    avg_views = np.round(0.5 * followers**0.8 * np.exp(rng.normal(0, 0.6, n) + 0.2 * skill), 1)
    base_formats = np.array([0.70, 0.15, 0.15]) * np.exp(rng.normal(0, 0.5, (n, 3)))
    base_formats[:, 1] += 0.25 * (followers > 100_000)
    format_weights = base_formats / base_formats.sum(axis=1, keepdims=True)
    joined_days = np.where(rng.random(n) < 0.08, rng.uniform(1, 30, n), rng.uniform(30, 1500, n))
    real_name = rng.random(n) < 0.96
    showcase = rng.random(n) < 0.88
    deposit = rng.random(n) < 0.86
    shares = round_shares(audience)
    frame = pd.DataFrame(
        {
            "creator_id": _ids("c", n),
            "name": [f"Creator {i}" for i in range(n)],
            "followers": followers,
            "region": np.array(REGIONS, dtype=object)[region_row],
            "categories": [[CATEGORY_NAMES[k] for k in c] for c in cats],
            "joined_at": _days_before(as_of, joined_days),
            "real_name_verified": real_name,
            "showcase_enabled": showcase,
            "deposit_paid": deposit,
        }
    )
    for j, key in enumerate(AUDIENCE_KEYS):
        frame[f"aud_{key}"] = shares[:, j]
    frame["avg_views"] = avg_views
    frame["like_rate"] = np.round(np.clip(0.035 * np.exp(0.35 * skill + rng.normal(0, 0.35, n)), 0, 0.5), 5)
    frame["comment_rate"] = np.round(np.clip(0.004 * np.exp(0.35 * skill + rng.normal(0, 0.4, n)), 0, 0.2), 5)
    frame["share_rate"] = np.round(np.clip(0.002 * np.exp(0.35 * skill + rng.normal(0, 0.4, n)), 0, 0.2), 5)
    frame["completion_rate"] = np.round(_sigmoid(-0.6 + 0.45 * skill + rng.normal(0, 0.4, n)), 4)
    frame["fans_growth_30d"] = np.round(0.02 * np.exp(0.3 * skill + rng.normal(0, 0.5, n)), 5)  # extra numeric
    frame["content_embedding"] = _embedding_column(space.embed(rng, main, taste, noise=0.6))  # extra embedding
    assert format_weights.shape[1] == len(PROMOTION_FORMATS)
    return Creators(
        frame=frame,
        skill=skill,
        audience=audience,
        affinity=affinity,
        categories=cats,
        taste=taste,
        format_weights=format_weights,
        avg_views=avg_views,
        admitted=real_name & showcase & deposit,
        region_row=region_row,
        joined_days_ago=joined_days,
    )
