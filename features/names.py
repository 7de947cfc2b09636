"""Feature names: the single list the models, the bundle manifest and the explanations agree on.

A feature vector is ``[creator block | product block | pair block]``. :data:`FEATURE_NAMES` is the base list; data
with extra numeric or embedding columns appends ``c_x_*`` / ``p_x_*`` names to the creator / product blocks and
``x_emb_*`` names to the pair block (see :func:`feature_names`).
"""

from __future__ import annotations

from recsys.core.schema import AUDIENCE_KEYS

WINDOW_DAYS = (7, 30, 90)


def window_names(prefix: str) -> list[str]:
    """History features of one side (``c`` or ``p``): sales windows, all-time totals, recency, has-history."""
    names: list[str] = []
    for d in WINDOW_DAYS:
        names += [
            f"{prefix}_promotions_{d}d",
            f"{prefix}_log_gmv_{d}d",
            f"{prefix}_log_orders_{d}d",
            f"{prefix}_conversion_{d}d",
            f"{prefix}_gpm_{d}d",
            f"{prefix}_refund_rate_{d}d",
        ]
        if d == 30:
            names.append(f"{prefix}_interaction_rate_30d")
    return [
        *names,
        f"{prefix}_log_gmv_all",
        f"{prefix}_promotions_all",
        f"{prefix}_days_since_last",
        f"{prefix}_has_history",
    ]


SAMPLE_FEATURES: list[str] = ["c_sample_fulfilment_90d", "c_samples_judged_90d"]
"""A creator's 90-day sample fulfilment rate and the judged samples it rests on (``features.samples``)."""

CREATOR_FEATURES: list[str] = [
    "c_log_followers",
    "c_fan_tier",
    "c_log_avg_views",
    "c_like_rate",
    "c_comment_rate",
    "c_share_rate",
    "c_completion_rate",
    "c_days_since_joined",
    "c_n_categories",
    *[f"c_aud_{k}" for k in AUDIENCE_KEYS],
    *window_names("c"),
    *SAMPLE_FEATURES,
]

PRODUCT_FEATURES: list[str] = [
    "p_category",
    "p_log_price",
    "p_price_band",
    "p_price_vs_category",
    "p_rating",
    "p_service_score",
    "p_days_listed",
    "p_best_rate",
    "p_rate_vs_category",
    "p_has_target",
    *[f"p_target_{k}" for k in AUDIENCE_KEYS],
    *window_names("p"),
    "p_n_creators_90d",
    "m_experience_score",
    "m_good_review_rate",
    "m_violations_90d",
    "m_alliance_closures",
    "m_days_since_joined",
]

PAIR_FEATURES: list[str] = [
    "x_overlap",
    "x_overlap_gender",
    "x_overlap_age",
    "x_overlap_city_tier",
    "x_category_listed",
    "x_category_gmv_share",
    "x_category_promotions",
    "x_category_conversion",
    "x_price_vs_usual",
    "x_size_vs_typical_promoter",
    "x_same_region",
    "x_cf_score",
    "x_cf_known",
    "x_commission_rate",
    "x_commission_vs_category",
    "x_prev_promotions",
    "x_prev_gmv",
    "x_format",
]

FEATURE_NAMES: list[str] = CREATOR_FEATURES + PRODUCT_FEATURES + PAIR_FEATURES
CATEGORICAL_FEATURES: list[str] = ["p_category"]


def extra_names(prefix: str, numeric: list[str], embeddings: dict[str, int]) -> list[str]:
    """Names of passed-through extra columns: ``<prefix>_x_<col>`` and ``<prefix>_x_<col>_<i>`` per dimension."""
    names = [f"{prefix}_x_{col}" for col in numeric]
    for col, dim in embeddings.items():
        names += [f"{prefix}_x_{col}_{i}" for i in range(dim)]
    return names


def embedding_pair_names(creator_embeddings: dict[str, int], product_embeddings: dict[str, int]) -> list[str]:
    """One cosine-similarity feature per (creator, product) embedding pair of equal dimension."""
    return [
        f"x_emb_{c}__{p}" for c, cd in creator_embeddings.items() for p, pd_ in product_embeddings.items() if cd == pd_
    ]


def feature_names(
    creator_numeric: list[str],
    creator_embeddings: dict[str, int],
    product_numeric: list[str],
    product_embeddings: dict[str, int],
) -> list[str]:
    """The full ordered feature list for data with these extra columns."""
    return (
        CREATOR_FEATURES
        + extra_names("c", creator_numeric, creator_embeddings)
        + PRODUCT_FEATURES
        + extra_names("p", product_numeric, product_embeddings)
        + PAIR_FEATURES
        + embedding_pair_names(creator_embeddings, product_embeddings)
    )
