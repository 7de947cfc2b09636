"""Reasons in words: the features that pushed a recommendation up, from LightGBM's per-feature contributions.

Each reason names the feature, its contribution to the ranker's score (SHAP value) and a sentence built from the
feature's value. Features without a sentence of their own fall back to a sentence per family (prefix).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Reason:
    feature: str
    contribution: float
    text: str


def _pct(v: float) -> str:
    return f"{100 * v:.0f}%"


def _money(v: float) -> str:
    return f"¥{v:,.0f}"


_TEMPLATES: dict[str, Callable[[float], str]] = {
    "x_overlap": lambda v: f"the creator's audience overlaps {_pct(v)} with the product's target buyers",
    "x_overlap_gender": lambda v: f"audience gender mix matches the product's buyers ({_pct(v)} overlap)",
    "x_overlap_age": lambda v: f"audience age mix matches the product's buyers ({_pct(v)} overlap)",
    "x_overlap_city_tier": lambda v: f"audience city tiers match the product's buyers ({_pct(v)} overlap)",
    "x_category_listed": lambda v: (
        "the product's category is one of the creator's content categories"
        if v > 0
        else "the product is outside the creator's usual categories"
    ),
    "x_category_gmv_share": lambda v: f"{_pct(v)} of the creator's recent GMV is in this category",
    "x_category_promotions": lambda v: f"the creator promoted {np.expm1(v):.0f} products of this category in 90 days",
    "x_category_conversion": lambda v: f"the creator converts {_pct(v)} of clicks in this category",
    "x_price_vs_usual": lambda v: (
        "the price is close to what the creator's audience usually buys"
        if abs(v) < 0.4
        else (
            "the price is above the creator's usual range" if v > 0 else "the price is below the creator's usual range"
        )
    ),
    "x_size_vs_typical_promoter": lambda v: (
        "the creator's reach is typical of this product's best sellers"
        if abs(v) < 1
        else (
            "the creator is larger than this product's usual promoters" if v > 0 else "the creator is a smaller account"
        )
    ),
    "x_cf_score": lambda v: "creators with similar sales histories sold products like this",
    "x_commission_rate": lambda v: f"commission rate {_pct(v)}",
    "x_commission_vs_category": lambda v: f"commission is {v:.1f}x the category median",
    "x_prev_promotions": lambda v: f"the creator promoted this product {np.expm1(v):.0f} time(s) before",
    "x_prev_gmv": lambda v: f"earlier promotions of this product by the creator sold {_money(np.expm1(v))}",
    "p_rating": lambda v: f"product rating {v:.1f}/5",
    "p_best_rate": lambda v: f"commission rate {_pct(v)}",
    "p_log_price": lambda v: f"price {_money(np.exp(v))}",
    "c_log_avg_views": lambda v: f"the creator averages {np.expm1(v):,.0f} views per post",
    "c_log_followers": lambda v: f"{np.expm1(v):,.0f} followers",
    "c_completion_rate": lambda v: f"viewers watch {_pct(v)} of the creator's videos to the end",
    "c_interaction_rate_30d": lambda v: f"30-day interaction rate {_pct(v)}",
}

_FAMILIES: list[tuple[str, str]] = [
    ("p_log_gmv", "the product sells well recently"),
    ("p_log_orders", "the product sells well recently"),
    ("p_conversion", "the product converts clicks into orders well"),
    ("p_gpm", "the product earns a high GMV per 1,000 views"),
    ("p_refund_rate", "the product's refund rate"),
    ("p_target_", "the product's target audience"),
    ("p_", "the product's own qualities"),
    ("m_", "the merchant's service quality"),
    ("c_log_gmv", "the creator's strong recent sales"),
    ("c_log_orders", "the creator's strong recent sales"),
    ("c_conversion", "the creator converts clicks into orders well"),
    ("c_gpm", "the creator earns a high GMV per 1,000 views"),
    ("c_aud_", "the creator's audience profile"),
    ("c_", "the creator's engagement and reach"),
    ("x_emb_", "the creator's content is similar to the product's description"),
    ("x_", "the creator–product fit"),
]


def describe(feature: str, value: float) -> str:
    """A sentence for one feature value."""
    template = _TEMPLATES.get(feature)
    if template is not None and np.isfinite(value):
        return template(float(value))
    for prefix, sentence in _FAMILIES:
        if feature.startswith(prefix):
            return sentence
    return feature


def top_reasons(contributions: np.ndarray, values: np.ndarray, names: list[str], n: int = 3) -> list[list[Reason]]:
    """For each row, the ``n`` features with the largest positive contributions, as reasons.

    contributions : (n_rows, n_features + 1) from ``pred_contrib`` (last column = bias, ignored)
    values : (n_rows, n_features) the feature vectors
    """
    features = np.asarray(contributions)[:, :-1]
    top = np.argsort(-features, axis=1, kind="stable")[:, :n]
    top_contrib = np.take_along_axis(features, top, axis=1).tolist()
    top_values = np.take_along_axis(np.asarray(values), top, axis=1).tolist()
    return [
        [
            Reason(names[j], round(c, 4), describe(names[j], v))
            for j, c, v in zip(row, row_contrib, row_values, strict=True)
            if c > 0
        ]
        for row, row_contrib, row_values in zip(top.tolist(), top_contrib, top_values, strict=True)
    ]
