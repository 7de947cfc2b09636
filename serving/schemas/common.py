"""Small shared response parts: reasons, refusals, pagination."""

from __future__ import annotations

from typing import Any, cast

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from recsys.core.vocab import ReasonCode

# Bounds of request numbers, stated in the OpenAPI schema (``le=`` / ``ge=``) and checked before the store: the
# store's integers are 64-bit (a larger one was an OverflowError in SQLite), money and counts have physical limits.
INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)
MAX_FOLLOWERS = 10**10
MAX_MONEY = 1e12  # yuan


class Reason(BaseModel):
    """Why the pair is recommended: a reason type, the exact figures it quotes and a sentence built from them."""

    code: ReasonCode = Field(description="The reason type (a closed set; see docs/serving.md for each code).")
    params: dict[str, int | float | str] = Field(
        description="The figures the sentence quotes, exactly as stored: counts as integers, money in yuan to the "
        "cent, shares and rates as fractions to 4 decimals.",
        examples=[{"overlap": 0.86, "gender": "female", "creator_gender_share": 0.78, "target_gender_share": 0.7}],
    )
    text: str = Field(examples=["followers match your buyers (86% overlap): 78% female vs your target 70%"])
    contribution: float = Field(
        description="The ranker's evidence for this reason: the summed contributions of the features behind it "
        "(> 0; higher = the score leaned on it more)."
    )


class Refusal(BaseModel):
    """Why something is not offered: a reason code of the plan rules and its sentence."""

    code: str = Field(examples=["plan_not_offered_to_creator"])
    message: str = Field(examples=["No promotion plan for this product is offered to this creator."])


class PublicModel(BaseModel):
    """Response models: fields as documented, nothing else."""

    model_config = ConfigDict(extra="forbid")


class InputModel(BaseModel):
    """Request bodies: unknown fields are an error (a misspelled option never passes silently)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, str_strip_whitespace=True)


class Page(PublicModel):
    """A page of a ranked list."""

    model_run_id: str = Field(
        description="The model bundle that ranked this list.", examples=["20260630-101500-ab12cd34-s7"]
    )
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` to get the next page; null at the end of the list."
    )
    notice: Refusal | None = Field(
        default=None,
        description="Why the page is empty: a plan-rule reason code (e.g. `creator_showcase_disabled`), or "
        "`product_without_plan`, `merchant_without_products`, `end_of_list`, `no_match_for_filters` (the message "
        "names the filters) or `no_new_partners`. Null on a page with items.",
    )


def examples(*values: dict[str, Any]) -> ConfigDict:
    """Model config carrying OpenAPI examples."""
    return ConfigDict(json_schema_extra=cast(JsonDict, {"examples": list(values)}))
