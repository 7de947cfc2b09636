"""Answers of the small read endpoints the web console needs: who a key is, audience against target, sample
request lists and the served bundle. Imported directly (``serving.schemas.console``), not re-exported."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from recsys.core.vocab import Role
from serving.schemas.common import PublicModel, examples
from serving.schemas.workflows import SampleRequestPublic


class Me(PublicModel):
    """The caller's role and tenant, so a client can adapt to the key without trying endpoints."""

    role: Role
    merchant_id: str | None = Field(description="Set for a merchant key.")
    creator_id: str | None = Field(description="Set for a creator key.")
    key_id: str = Field(description="The key's public id (never the secret).")

    model_config = examples({"role": "merchant", "merchant_id": "m00003", "creator_id": None, "key_id": "ab12cd34"})


class ShareGroups(PublicModel):
    """Shares per group (each group sums to 1): gender, age band, city tier."""

    gender: dict[str, float]
    age: dict[str, float]
    city_tier: dict[str, float]


class CreatorAudience(PublicModel):
    creator_id: str
    audience: ShareGroups


class AudienceFit(PublicModel):
    """The product's target buyers and the audience of each asked creator, side by side."""

    product_id: str
    target: ShareGroups | None = Field(description="Null when the product publishes no target audience.")
    creators: list[CreatorAudience] = Field(description="In request order; unknown creator ids are left out.")
    unknown_creator_ids: list[str]


class SampleRequestList(PublicModel):
    creator_id: str | None = Field(default=None, description="Set for a creator's list.")
    merchant_id: str | None = Field(default=None, description="Set for a merchant's list.")
    items: list[SampleRequestPublic] = Field(description="Newest first.")


class BundleInfo(PublicModel):
    """The bundle being served, from its manifest."""

    model_run_id: str
    created_at: datetime | None = Field(description="When the bundle was trained and written.")
    data_now: datetime | None = Field(description="The marketplace's 'now' the features were cut at.")
    seed: int | None
    feature_count: int = Field(description="Features the rankers read.")
    ranker_mode: str | None
    metrics: dict[str, Any] = Field(description="Validation metrics recorded in the manifest at training.")
