"""Query parameters shared by the list endpoints, and their checks against the loaded model."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from recsys.core.config import Settings
from recsys.core.vocab import CreatorSort, FanTier, PromotionFormat
from serving.errors import ApiError
from serving.pagination import decode_cursor
from serving.state import MatcherState

MAX_K = 200

KQuery = Annotated[
    int | None,
    Query(ge=1, le=MAX_K, description="How many items (default: settings.serving.default_k).", examples=[10]),
]
CursorQuery = Annotated[
    str | None,
    Query(max_length=512, description="`next_cursor` of the previous page; omit for the first page."),
]
CategoryQuery = Annotated[
    str | None, Query(min_length=1, max_length=100, description="Only this product category.", examples=["beauty"])
]
FormatQuery = Annotated[
    PromotionFormat | None,
    Query(description="Promotion format to predict for (default: the creator's usual format)."),
]
FanTierQuery = Annotated[
    FanTier | None,
    Query(description="Only creators in this fan tier (<5k, 5k–20k, 20k–100k, 100k–1M, >1M followers)."),
]
IncludeExistingQuery = Annotated[
    bool | None,
    Query(
        description="Also list existing collaborations (a creator already promoting the product), labelled "
        "`existing: true`. Default: settings.matching.include_existing (false: new partners only)."
    ),
]
SortQuery = Annotated[
    CreatorSort,
    Query(
        description="Order of the list: `fit` (the matcher's order: fit to the product, net of capacity and "
        "exposure; default), `expected_gmv` (calibrated expected GMV, highest first) or `roi` (expected ROI "
        "including the sample, highest first). Pass the same value with `cursor` for the next page."
    ),
]
RegionQuery = Annotated[
    str | None, Query(min_length=1, max_length=100, description="Only creators in this region.", examples=["south"])
]


def page_size(k: int | None, settings: Settings) -> int:
    size = settings.serving.default_k if k is None else k
    limit = min(settings.serving.max_k, MAX_K)
    if size > limit:
        raise ApiError(
            422,
            "invalid_request",
            f"query.k: at most {limit}",
            [
                {
                    "loc": ["query", "k"],
                    "msg": f"Input should be less than or equal to {limit}",
                    "type": "less_than_equal",
                }
            ],
        )
    return size


def check_category(state: MatcherState, category: str | None, where: str = "category") -> None:
    """422 naming the known categories when ``category`` is not one of the model's."""
    if category is None or category in state.bundle.engine.tables.categories:
        return
    known = ", ".join(state.bundle.engine.tables.categories)
    message = f"unknown category {category!r}; known: {known}"
    raise ApiError(
        422,
        "invalid_request",
        f"query.{where}: {message}",
        [{"loc": ["query", where], "msg": message, "type": "unknown_category"}],
    )


def start_offset(cursor: str | None, state: MatcherState, settings: Settings) -> int:
    return decode_cursor(cursor, state.run_id, settings.serving.max_list_depth)
