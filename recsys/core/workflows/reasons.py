"""Reason codes of the invitation and sample workflows, each with its sentence (like the plan rules' ``REASONS``).

A refused write answers with the code and the sentence: 422 when the input breaks a rule, 409 when the request is
valid but the workflow's state does not allow it (an expired invite, a product out of samples).
"""

from __future__ import annotations

WORKFLOW_REASONS: dict[str, str] = {
    # --- invitations ----------------------------------------------------------------------------------------------
    "invite_creators_missing": "An invitation names at least one creator.",
    "invite_too_many_creators": "A targeted plan lists at most 50 creators; invite fewer or use another rate.",
    "invite_creator_unknown": "An invited creator is not in the marketplace.",
    "invite_expiry_in_past": "The invitation must expire after now.",
    "invite_expiry_too_far": "The invitation may stay open at most 90 days.",
    "invite_expired": "The invitation has expired; ask the merchant for a new one.",
    "invite_already_declined": "The invitation was declined; ask the merchant for a new one.",
    "invite_already_accepted": "The invitation was accepted; the collaboration exists.",
    "invite_pending_other_rate": (
        "The creator already has a pending invitation for this product at another rate; it must be accepted, "
        "declined or expire first."
    ),
    # --- samples --------------------------------------------------------------------------------------------------
    "sample_out_of_stock": "The product has no samples left.",
    "sample_request_open": "The creator already has an open sample request for this product.",
    "sample_request_not_requested": "Only a request that is still waiting can be approved or rejected.",
    "sample_request_not_approved": "Only an approved request can be shipped.",
    "sample_request_not_shipped": "Content can only follow a shipped sample.",
    "sample_request_closed": "The request was rejected; it cannot change any more.",
    "sample_content_promotion_unknown": "The promotion is not in the marketplace (send it to POST /v1/events first).",
    "sample_content_promotion_mismatch": "The promotion is not this creator's promotion of this product.",
    "sample_content_before_shipping": "The promotion started before the sample was shipped.",
    "sample_content_already_recorded": "Another promotion was already recorded as this sample's content.",
}
"""Every workflow reason code and its sentence."""


def reason_details(codes: list[str]) -> list[dict[str, str]]:
    """``[{"code", "message"}]`` for an error body's details."""
    return [{"code": c, "message": WORKFLOW_REASONS[c]} for c in codes]
