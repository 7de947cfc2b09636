"""Query parameters shared by the list endpoints, and their checks against the loaded model."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query
from pydantic import StringConstraints

from models.matching.filters import MAX_EXCLUDED, CreatorFilters, ProductFilters
from recsys.core.config import Settings
from recsys.core.vocab import AgeBand, AudienceGender, CityTier, CreatorSort, FanTier, PromotionFormat
from serving.errors import ApiError
from serving.pagination import decode_cursor
from serving.schemas.common import MAX_FOLLOWERS, MAX_MONEY
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


EntityId = Annotated[str, StringConstraints(min_length=1, max_length=200)]


def _excluded(what: str) -> object:
    return Query(
        max_length=MAX_EXCLUDED,
        description=f"{what} ids to leave out of the list; repeat the parameter for each id "
        f"(`exclude=a&exclude=b`), at most {MAX_EXCLUDED}. Ids the model does not know are ignored.",
    )


def _invalid(field: str, message: str, kind: str = "value_error") -> ApiError:
    return ApiError(
        422, "invalid_request", f"query.{field}: {message}", [{"loc": ["query", field], "msg": message, "type": kind}]
    )


def _check_range(low: float | None, high: float | None, low_name: str, high_name: str) -> None:
    if low is not None and high is not None and low > high:
        raise _invalid(low_name, f"must not exceed {high_name} ({low} > {high})", "range_inverted")


async def product_filters(
    category: CategoryQuery = None,
    min_commission: Annotated[
        float | None,
        Query(
            ge=0,
            le=1,
            description="Only products whose effective plan for this creator pays at least this rate (a tiered "
            "plan: the rate of the tier the creator's sales reach). Applied before the list is cut into pages.",
            examples=[0.15],
        ),
    ] = None,
    price_min: Annotated[
        float | None, Query(ge=0, le=MAX_MONEY, description="Only products priced at least this (yuan).")
    ] = None,
    price_max: Annotated[
        float | None, Query(ge=0, le=MAX_MONEY, description="Only products priced at most this (yuan).")
    ] = None,
    exclude: Annotated[list[EntityId] | None, _excluded("Product")] = None,
    format: FormatQuery = None,
) -> ProductFilters:
    """The creator pool's filters; 422 naming the field when a range is inverted. ``async`` although it awaits
    nothing: FastAPI runs a plain ``def`` dependency on its thread pool, a thread hop per list request."""
    _check_range(price_min, price_max, "price_min", "price_max")
    return ProductFilters(category, min_commission, format, price_min, price_max, tuple(exclude or ()))


async def creator_filters(
    fan_tier: FanTierQuery = None,
    region: RegionQuery = None,
    category: Annotated[
        str | None,
        Query(min_length=1, max_length=100, description="Only creators who list this content category."),
    ] = None,
    followers_min: Annotated[
        int | None, Query(ge=0, le=MAX_FOLLOWERS, description="Only creators with at least this many followers.")
    ] = None,
    followers_max: Annotated[
        int | None, Query(ge=0, le=MAX_FOLLOWERS, description="Only creators with at most this many followers.")
    ] = None,
    audience_gender: Annotated[
        AudienceGender | None,
        Query(description="Only creators whose audience is at least `audience_gender_min` this gender."),
    ] = None,
    audience_gender_min: Annotated[
        float | None,
        Query(
            ge=0,
            le=1,
            description="The share of `audience_gender` in the audience, at least (0–1; default 0.5). Needs "
            "`audience_gender`.",
        ),
    ] = None,
    audience_age: Annotated[
        AgeBand | None, Query(description="Only creators whose audience's largest age band is this one.")
    ] = None,
    audience_city_tier: Annotated[
        CityTier | None, Query(description="Only creators whose audience's largest city tier is this one.")
    ] = None,
    gmv_30d_min: Annotated[
        float | None,
        Query(ge=0, le=MAX_MONEY, description="Only creators who sold at least this GMV (yuan) in the last 30 days."),
    ] = None,
    engagement_min: Annotated[
        float | None,
        Query(ge=0, le=3, description="Only creators whose (likes + comments + shares) per view is at least this."),
    ] = None,
    exclude: Annotated[list[EntityId] | None, _excluded("Creator")] = None,
    format: FormatQuery = None,
) -> CreatorFilters:
    """The creator lists' filters (see :func:`checked_creator_filters`); ``async`` like :func:`product_filters`."""
    return checked_creator_filters(
        CreatorFilters(
            fan_tier=fan_tier,
            region=region,
            category=category,
            format=format,
            followers_min=followers_min,
            followers_max=followers_max,
            audience_gender=audience_gender,
            audience_gender_min=audience_gender_min,
            audience_age=audience_age,
            audience_city_tier=audience_city_tier,
            gmv_30d_min=gmv_30d_min,
            engagement_min=engagement_min,
            exclude=tuple(exclude or ()),
        )
    )


def checked_creator_filters(filters: CreatorFilters) -> CreatorFilters:
    """``filters`` when they make sense together; 422 naming the field when a range is inverted or a share lacks
    its gender."""
    _check_range(filters.followers_min, filters.followers_max, "followers_min", "followers_max")
    if filters.audience_gender_min is not None and filters.audience_gender is None:
        raise _invalid("audience_gender_min", "needs audience_gender (the gender the share is of)", "missing")
    return filters


ProductFiltersDep = Annotated[ProductFilters, Depends(product_filters)]
CreatorFiltersDep = Annotated[CreatorFilters, Depends(creator_filters)]


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
