"""Builders of tiny hand-written marketplace frames for the feature tests (every column the builders read)."""

from __future__ import annotations

import pandas as pd

from recsys.core.schema import AUDIENCE_KEYS

PROMOTION_COLUMNS = [
    "creator_id",
    "product_id",
    "started_at",
    "views",
    "clicks",
    "orders",
    "gmv",
    "refunds",
    "likes",
    "comments",
    "shares",
    "format",
]
_COUNTS = ("views", "clicks", "orders", "gmv", "refunds", "likes", "comments", "shares")


def promotions(rows: list[tuple]) -> pd.DataFrame:  # type: ignore[type-arg]
    """Rows of (creator, product, started, views, clicks, orders, gmv, refunds, likes, comments, shares, format)."""
    frame = pd.DataFrame(rows, columns=PROMOTION_COLUMNS)
    frame["started_at"] = pd.to_datetime(frame["started_at"])
    for col in _COUNTS:
        frame[col] = frame[col].astype(float)
    return frame


def shares(prefix: str, female: float, age: list[float], tier: list[float]) -> dict[str, float]:
    """``{prefix}_female: ..., {prefix}_male: 1 - female, {prefix}_age_...: ..., {prefix}_tier_...: ...}``."""
    values = [female, 1 - female, *age, *tier]
    return {f"{prefix}_{key}": v for key, v in zip(AUDIENCE_KEYS, values, strict=True)}
