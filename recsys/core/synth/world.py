"""The fixed shape of the synthetic world: categories, regions and their audience and price profiles."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recsys.core.schema import AGE_KEYS, CITY_TIER_KEYS


@dataclass(frozen=True)
class CategoryProfile:
    name: str
    weight: float  # share of the catalogue
    median_price: float  # yuan
    female: float  # typical female share of the buyers
    age: tuple[float, float, float, float, float]  # 18-23, 24-30, 31-40, 41-50, 50+
    tier1_tilt: float  # > 0: buyers skew to tier-1 cities
    commission: float  # typical open commission rate


CATEGORIES: tuple[CategoryProfile, ...] = (
    CategoryProfile("beauty", 0.13, 120, 0.86, (0.30, 0.38, 0.20, 0.08, 0.04), 0.3, 0.22),
    CategoryProfile("skincare", 0.09, 180, 0.80, (0.18, 0.36, 0.28, 0.12, 0.06), 0.5, 0.20),
    CategoryProfile("womens_fashion", 0.11, 150, 0.92, (0.32, 0.34, 0.20, 0.09, 0.05), 0.2, 0.18),
    CategoryProfile("mens_fashion", 0.05, 200, 0.18, (0.22, 0.34, 0.26, 0.12, 0.06), 0.2, 0.16),
    CategoryProfile("shoes_bags", 0.06, 260, 0.66, (0.24, 0.36, 0.24, 0.10, 0.06), 0.4, 0.14),
    CategoryProfile("food_snacks", 0.11, 45, 0.60, (0.22, 0.28, 0.26, 0.14, 0.10), -0.3, 0.15),
    CategoryProfile("fresh_produce", 0.05, 70, 0.62, (0.06, 0.16, 0.30, 0.26, 0.22), -0.4, 0.12),
    CategoryProfile("home_living", 0.08, 90, 0.66, (0.08, 0.24, 0.34, 0.20, 0.14), -0.1, 0.15),
    CategoryProfile("kitchen", 0.04, 130, 0.62, (0.05, 0.20, 0.36, 0.23, 0.16), 0.0, 0.13),
    CategoryProfile("electronics", 0.05, 700, 0.28, (0.24, 0.34, 0.26, 0.11, 0.05), 0.6, 0.06),
    CategoryProfile("digital_accessories", 0.05, 80, 0.40, (0.36, 0.34, 0.18, 0.08, 0.04), 0.1, 0.18),
    CategoryProfile("mother_baby", 0.05, 110, 0.90, (0.05, 0.42, 0.40, 0.09, 0.04), 0.2, 0.16),
    CategoryProfile("sports_outdoor", 0.04, 180, 0.36, (0.26, 0.34, 0.24, 0.10, 0.06), 0.3, 0.14),
    CategoryProfile("health", 0.04, 150, 0.56, (0.04, 0.12, 0.24, 0.28, 0.32), -0.1, 0.20),
    CategoryProfile("books_education", 0.02, 60, 0.58, (0.20, 0.24, 0.30, 0.16, 0.10), 0.3, 0.25),
    CategoryProfile("pets", 0.02, 90, 0.70, (0.30, 0.38, 0.20, 0.08, 0.04), 0.3, 0.15),
)
CATEGORY_NAMES: tuple[str, ...] = tuple(c.name for c in CATEGORIES)
N_CATEGORIES = len(CATEGORIES)

# Regions and how strongly their audiences sit in tier-1 cities.
REGIONS: tuple[str, ...] = ("east", "south", "north", "central", "southwest", "northwest", "northeast")
REGION_WEIGHTS = np.array([0.26, 0.22, 0.16, 0.13, 0.11, 0.06, 0.06])
REGION_TIER1_TILT = np.array([0.5, 0.4, 0.3, -0.1, -0.1, -0.5, -0.3])

BASE_TIERS = np.array([0.22, 0.30, 0.26, 0.22])  # tier 1, 2, 3, 4+
TASTE_DIM = 6  # hidden taste factors: only learnable from sales history


def category_weights() -> np.ndarray:
    w = np.array([c.weight for c in CATEGORIES])
    return w / w.sum()


def tier_profile(tilt: np.ndarray) -> np.ndarray:
    """City-tier shares for one or many tilts (> 0 moves buyers towards tier-1 cities); shape (..., 4)."""
    slope = np.array([1.0, 0.4, -0.3, -0.9])
    logits = np.log(BASE_TIERS) + np.multiply.outer(np.asarray(tilt, dtype=np.float64), slope)
    e = np.exp(logits)
    return e / e.sum(axis=-1, keepdims=True)


def category_audience(k: np.ndarray, extra_tier_tilt: np.ndarray | float = 0.0) -> np.ndarray:
    """Mean audience (gender 2, age 5, tiers 4 = 11 shares) of categories ``k``; shape (len(k), 11)."""
    k = np.asarray(k)
    female = np.array([c.female for c in CATEGORIES])[k]
    age = np.array([c.age for c in CATEGORIES])[k]
    tilt = np.array([c.tier1_tilt for c in CATEGORIES])[k] + extra_tier_tilt
    tiers = tier_profile(tilt)
    return np.column_stack([female, 1 - female, age, tiers])


def dirichlet_groups(rng: np.random.Generator, mean: np.ndarray, concentration: float) -> np.ndarray:
    """Noisy share vectors around ``mean`` (n, 11), each group (gender, age, tiers) drawn from a Dirichlet."""
    out = np.empty_like(mean)
    bounds = ((0, 2), (2, 2 + len(AGE_KEYS)), (2 + len(AGE_KEYS), 2 + len(AGE_KEYS) + len(CITY_TIER_KEYS)))
    for lo, hi in bounds:
        alpha = np.maximum(mean[:, lo:hi] * concentration, 0.05)
        g = rng.gamma(alpha)
        out[:, lo:hi] = g / g.sum(axis=1, keepdims=True)
    return out


def round_shares(shares: np.ndarray, decimals: int = 4) -> np.ndarray:
    """Round share groups so each group still sums to exactly 1 after rounding (last member absorbs the rest)."""
    out = np.round(shares, decimals)
    bounds = ((0, 2), (2, 7), (7, 11))
    for lo, hi in bounds:
        out[:, hi - 1] = np.round(1.0 - out[:, lo : hi - 1].sum(axis=1), decimals)
        out[:, lo:hi] = np.clip(out[:, lo:hi], 0.0, 1.0)
    return out
