"""Invitations and sample requests: request bodies and the records the API shows.

Bounds the workflow rules own (commission range, expiry window) are not enforced here, so a refusal carries the
rule's reason code (``plan_commission_out_of_bounds``, ``invite_expiry_in_past`` ...).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from serving.schemas.common import InputModel, PublicModel, examples

ENTITY_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}$"
InviteStatusName = Literal["pending", "accepted", "declined", "expired"]
SampleStatusName = Literal["requested", "approved", "rejected", "shipped", "content_posted"]


class InviteCreate(InputModel):
    """Invite creators to promote a product at a targeted rate (TikTok's target collaboration, Douyin's 定向计划)."""

    creator_ids: list[str] = Field(
        min_length=1, max_length=50, description="1–50 creators (a targeted plan lists at most 50)."
    )
    commission_rate: float = Field(
        ge=0, le=1, description="The targeted rate, within the platform's bounds (default 1%–80%)."
    )
    expires_at: datetime | None = Field(
        default=None, description="Until when the creators may accept; default: 7 days from now, at most 90."
    )

    model_config = examples(
        {"creator_ids": ["c00012", "c00031"], "commission_rate": 0.25, "expires_at": "2099-01-01T00:00:00Z"}
    )


class InvitePublic(PublicModel):
    """An invitation, shown only to the invited creator, the inviting merchant and the admin."""

    invite_id: str
    product_id: str
    merchant_id: str
    creator_id: str
    plan_id: str = Field(description="The targeted plan that lists the creator.")
    commission_rate: float
    status: InviteStatusName = Field(description="`expired`: still pending past `expires_at`.")
    created_at: datetime
    expires_at: datetime
    accepted_at: datetime | None
    declined_at: datetime | None
    collaboration_id: str | None = Field(description="Set once accepted: the collaboration it started.")

    model_config = examples(
        {
            "invite_id": "inv-3f9a0c1b2d4e",
            "product_id": "p00075",
            "merchant_id": "m00003",
            "creator_id": "c00012",
            "plan_id": "pl-inv-5e6f7a8b9c0d",
            "commission_rate": 0.25,
            "status": "accepted",
            "created_at": "2026-11-30T09:00:00Z",
            "expires_at": "2026-12-07T09:00:00Z",
            "accepted_at": "2026-11-30T12:00:00Z",
            "declined_at": None,
            "collaboration_id": "col-inv-3f9a0c1b2d4e",
        }
    )


class InviteList(PublicModel):
    """Invitations, newest first."""

    creator_id: str | None = Field(default=None, description="Set for a creator's list.")
    product_id: str | None = Field(default=None, description="Set for a product's list.")
    items: list[InvitePublic]

    model_config = examples({"creator_id": "c00012", "product_id": None, "items": []})


class SampleRequestCreate(InputModel):
    """A creator asks for a sample of a product."""

    creator_id: str | None = Field(
        default=None,
        pattern=ENTITY_ID_PATTERN,
        description="The requesting creator; a creator key may omit it (its own id), the admin must give it.",
    )
    note: str | None = Field(default=None, max_length=500, description="A note to the merchant.")

    model_config = examples({"creator_id": "c00012", "note": "for a live stream next week"})


class SampleReject(InputModel):
    """Why the merchant rejects a request (optional)."""

    reason: str | None = Field(default=None, max_length=500)

    model_config = examples({"reason": "samples reserved for creators with live streams"})


class SampleContent(InputModel):
    """The promotion that followed the sample (already sent to `POST /v1/events`)."""

    promotion_id: str = Field(pattern=ENTITY_ID_PATTERN)

    model_config = examples({"promotion_id": "pr900001"})


class SampleRequestPublic(PublicModel):
    """A sample request, shown to its creator, the product's merchant and the admin."""

    request_id: str
    product_id: str
    merchant_id: str
    creator_id: str
    status: SampleStatusName
    note: str | None
    requested_at: datetime
    approved_at: datetime | None
    rejected_at: datetime | None
    reject_reason: str | None
    shipped_at: datetime | None
    content_promotion_id: str | None
    content_started_at: datetime | None = Field(description="When the promotion that followed started.")
    sample_stock: int | None = Field(description="The product's samples left now (null: unlimited).")

    model_config = examples(
        {
            "request_id": "sr-0a1b2c3d4e5f",
            "product_id": "p00075",
            "merchant_id": "m00003",
            "creator_id": "c00012",
            "status": "shipped",
            "note": None,
            "requested_at": "2026-11-30T09:00:00Z",
            "approved_at": "2026-11-30T10:00:00Z",
            "rejected_at": None,
            "reject_reason": None,
            "shipped_at": "2026-12-01T08:00:00Z",
            "content_promotion_id": None,
            "content_started_at": None,
            "sample_stock": 41,
        }
    )
