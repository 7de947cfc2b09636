"""Small shared response parts: reasons, refusals, pagination."""

from __future__ import annotations

from typing import Any, cast

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict


class Reason(BaseModel):
    """One feature that pushed the recommendation up, with its contribution to the ranker's score."""

    feature: str = Field(examples=["x_overlap"])
    contribution: float = Field(description="SHAP contribution to the ranker's score (higher = stronger).")
    text: str = Field(examples=["the creator's audience overlaps 82% with the product's target buyers"])


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
        description="Why the list is empty or short, when the rules explain it (e.g. the creator is not admitted).",
    )


def examples(*values: dict[str, Any]) -> ConfigDict:
    """Model config carrying OpenAPI examples."""
    return ConfigDict(json_schema_extra=cast(JsonDict, {"examples": list(values)}))
