"""Baseline: the store's tables as they were when migrations were introduced (issue 18).

A store created before then (``METADATA.create_all``) already has some or all of these tables: they are kept as they
are, and the store is stamped at this revision; a new store gets them all.

Revision ID: 0001
Revises:
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from recsys.core.migrate import create_index_if_new, create_table_if_new

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    """Every table of the store as of this revision; tables an older store already has are left as they are."""
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    create_table_if_new(
        existing,
        "api_keys",
        sa.Column("key_id", sa.String(), nullable=False),
        sa.Column("key_hash", sa.String(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("tenant_id", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("key_id"),
        sa.UniqueConstraint("key_hash"),
    )
    create_table_if_new(
        existing,
        "collaborations",
        sa.Column("collaboration_id", sa.String(), nullable=False),
        sa.Column("creator_id", sa.String(), nullable=False),
        sa.Column("product_id", sa.String(), nullable=False),
        sa.Column("plan_id", sa.String(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("source_id", sa.String(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("collaboration_id"),
        sa.UniqueConstraint("source_id"),
    )
    create_index_if_new(existing, "ix_collaborations_creator_id", "collaborations", ["creator_id"], unique=False)
    create_index_if_new(existing, "ix_collaborations_product_id", "collaborations", ["product_id"], unique=False)
    create_index_if_new(existing, "ix_collaborations_revision", "collaborations", ["revision"], unique=False)
    create_table_if_new(
        existing,
        "creators",
        sa.Column("creator_id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("followers", sa.BigInteger(), nullable=False),
        sa.Column("region", sa.String(), nullable=False),
        sa.Column("categories", _JSON, nullable=False),
        sa.Column("joined_at", sa.DateTime(), nullable=False),
        sa.Column("real_name_verified", sa.Boolean(), nullable=False),
        sa.Column("showcase_enabled", sa.Boolean(), nullable=False),
        sa.Column("deposit_paid", sa.Boolean(), nullable=False),
        sa.Column("aud_female", sa.Float(), nullable=False),
        sa.Column("aud_male", sa.Float(), nullable=False),
        sa.Column("aud_age_18_23", sa.Float(), nullable=False),
        sa.Column("aud_age_24_30", sa.Float(), nullable=False),
        sa.Column("aud_age_31_40", sa.Float(), nullable=False),
        sa.Column("aud_age_41_50", sa.Float(), nullable=False),
        sa.Column("aud_age_50_plus", sa.Float(), nullable=False),
        sa.Column("aud_tier_1", sa.Float(), nullable=False),
        sa.Column("aud_tier_2", sa.Float(), nullable=False),
        sa.Column("aud_tier_3", sa.Float(), nullable=False),
        sa.Column("aud_tier_4_plus", sa.Float(), nullable=False),
        sa.Column("avg_views", sa.Float(), nullable=False),
        sa.Column("like_rate", sa.Float(), nullable=False),
        sa.Column("comment_rate", sa.Float(), nullable=False),
        sa.Column("share_rate", sa.Float(), nullable=False),
        sa.Column("completion_rate", sa.Float(), nullable=False),
        sa.Column("extra", _JSON, nullable=True),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("creator_id"),
    )
    create_index_if_new(existing, "ix_creators_revision", "creators", ["revision"], unique=False)
    create_table_if_new(
        existing,
        "events",
        sa.Column("event_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("entity_id", sa.String(), nullable=False),
        sa.Column("payload", _JSON, nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("event_id"),
    )
    create_table_if_new(
        existing,
        "invites",
        sa.Column("invite_id", sa.String(), nullable=False),
        sa.Column("product_id", sa.String(), nullable=False),
        sa.Column("merchant_id", sa.String(), nullable=False),
        sa.Column("creator_id", sa.String(), nullable=False),
        sa.Column("plan_id", sa.String(), nullable=False),
        sa.Column("commission_rate", sa.Float(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("extended_at", sa.DateTime(), nullable=True),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("accepted_at", sa.DateTime(), nullable=True),
        sa.Column("declined_at", sa.DateTime(), nullable=True),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("invite_id"),
    )
    create_index_if_new(existing, "ix_invites_creator_id", "invites", ["creator_id"], unique=False)
    create_index_if_new(existing, "ix_invites_product_id", "invites", ["product_id"], unique=False)
    create_index_if_new(existing, "ix_invites_revision", "invites", ["revision"], unique=False)
    create_table_if_new(
        existing,
        "merchants",
        sa.Column("merchant_id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("joined_at", sa.DateTime(), nullable=False),
        sa.Column("experience_score", sa.Float(), nullable=False),
        sa.Column("good_review_rate", sa.Float(), nullable=False),
        sa.Column("violations_90d", sa.BigInteger(), nullable=False),
        sa.Column("alliance_closures", sa.BigInteger(), nullable=False),
        sa.Column("region", sa.String(), nullable=False),
        sa.Column("extra", _JSON, nullable=True),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("merchant_id"),
    )
    create_index_if_new(existing, "ix_merchants_revision", "merchants", ["revision"], unique=False)
    create_table_if_new(
        existing,
        "orders",
        sa.Column("order_id", sa.String(), nullable=False),
        sa.Column("promotion_id", sa.String(), nullable=False),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(), nullable=True),
        sa.Column("refunded_at", sa.DateTime(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("order_id"),
    )
    create_index_if_new(existing, "ix_orders_promotion_id", "orders", ["promotion_id"], unique=False)
    create_index_if_new(existing, "ix_orders_revision", "orders", ["revision"], unique=False)
    create_table_if_new(
        existing,
        "plans",
        sa.Column("plan_id", sa.String(), nullable=False),
        sa.Column("product_id", sa.String(), nullable=False),
        sa.Column("plan_type", sa.String(), nullable=False),
        sa.Column("commission_rate", sa.Float(), nullable=False),
        sa.Column("creator_ids", _JSON, nullable=True),
        sa.Column("tiers", _JSON, nullable=True),
        sa.Column("tier_basis", sa.String(), nullable=True),
        sa.Column("min_followers", sa.BigInteger(), nullable=True),
        sa.Column("allowed_categories", _JSON, nullable=True),
        sa.Column("allowed_regions", _JSON, nullable=True),
        sa.Column("starts_at", sa.DateTime(), nullable=False),
        sa.Column("ends_at", sa.DateTime(), nullable=True),
        sa.Column("budget", sa.Float(), nullable=True),
        sa.Column("budget_spent", sa.Float(), nullable=True),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("plan_id"),
    )
    create_index_if_new(existing, "ix_plans_product_id", "plans", ["product_id"], unique=False)
    create_index_if_new(existing, "ix_plans_revision", "plans", ["revision"], unique=False)
    create_table_if_new(
        existing,
        "products",
        sa.Column("product_id", sa.String(), nullable=False),
        sa.Column("merchant_id", sa.String(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("category", sa.String(), nullable=False),
        sa.Column("price", sa.Float(), nullable=False),
        sa.Column("rating", sa.Float(), nullable=False),
        sa.Column("service_score", sa.Float(), nullable=False),
        sa.Column("listed_at", sa.DateTime(), nullable=False),
        sa.Column("target_female", sa.Float(), nullable=True),
        sa.Column("target_male", sa.Float(), nullable=True),
        sa.Column("target_age_18_23", sa.Float(), nullable=True),
        sa.Column("target_age_24_30", sa.Float(), nullable=True),
        sa.Column("target_age_31_40", sa.Float(), nullable=True),
        sa.Column("target_age_41_50", sa.Float(), nullable=True),
        sa.Column("target_age_50_plus", sa.Float(), nullable=True),
        sa.Column("target_tier_1", sa.Float(), nullable=True),
        sa.Column("target_tier_2", sa.Float(), nullable=True),
        sa.Column("target_tier_3", sa.Float(), nullable=True),
        sa.Column("target_tier_4_plus", sa.Float(), nullable=True),
        sa.Column("extra", _JSON, nullable=True),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("product_id"),
    )
    create_index_if_new(existing, "ix_products_merchant_id", "products", ["merchant_id"], unique=False)
    create_index_if_new(existing, "ix_products_revision", "products", ["revision"], unique=False)
    create_table_if_new(
        existing,
        "promotions",
        sa.Column("promotion_id", sa.String(), nullable=False),
        sa.Column("creator_id", sa.String(), nullable=False),
        sa.Column("product_id", sa.String(), nullable=False),
        sa.Column("plan_id", sa.String(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("format", sa.String(), nullable=False),
        sa.Column("views", sa.BigInteger(), nullable=False),
        sa.Column("likes", sa.BigInteger(), nullable=False),
        sa.Column("comments", sa.BigInteger(), nullable=False),
        sa.Column("shares", sa.BigInteger(), nullable=False),
        sa.Column("completion_rate", sa.Float(), nullable=False),
        sa.Column("clicks", sa.BigInteger(), nullable=False),
        sa.Column("orders", sa.BigInteger(), nullable=False),
        sa.Column("gmv", sa.Float(), nullable=False),
        sa.Column("refunds", sa.BigInteger(), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("promotion_id"),
    )
    create_index_if_new(existing, "ix_promotions_creator_id", "promotions", ["creator_id"], unique=False)
    create_index_if_new(existing, "ix_promotions_plan_id", "promotions", ["plan_id"], unique=False)
    create_index_if_new(existing, "ix_promotions_product_id", "promotions", ["product_id"], unique=False)
    create_index_if_new(existing, "ix_promotions_revision", "promotions", ["revision"], unique=False)
    create_table_if_new(
        existing,
        "quarantined_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(), nullable=True),
        sa.Column("kind", sa.String(), nullable=True),
        sa.Column("payload", _JSON, nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    create_index_if_new(existing, "ix_quarantined_events_event_id", "quarantined_events", ["event_id"], unique=False)
    create_table_if_new(
        existing,
        "revisions",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    create_table_if_new(
        existing,
        "sample_requests",
        sa.Column("request_id", sa.String(), nullable=False),
        sa.Column("product_id", sa.String(), nullable=False),
        sa.Column("merchant_id", sa.String(), nullable=False),
        sa.Column("creator_id", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("note", sa.String(), nullable=True),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("approved_at", sa.DateTime(), nullable=True),
        sa.Column("rejected_at", sa.DateTime(), nullable=True),
        sa.Column("reject_reason", sa.String(), nullable=True),
        sa.Column("shipped_at", sa.DateTime(), nullable=True),
        sa.Column("content_promotion_id", sa.String(), nullable=True),
        sa.Column("content_started_at", sa.DateTime(), nullable=True),
        sa.Column("content_recorded_at", sa.DateTime(), nullable=True),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("request_id"),
    )
    create_index_if_new(existing, "ix_sample_requests_creator_id", "sample_requests", ["creator_id"], unique=False)
    create_index_if_new(existing, "ix_sample_requests_merchant_id", "sample_requests", ["merchant_id"], unique=False)
    create_index_if_new(existing, "ix_sample_requests_product_id", "sample_requests", ["product_id"], unique=False)
    create_index_if_new(existing, "ix_sample_requests_revision", "sample_requests", ["revision"], unique=False)


def downgrade() -> None:
    """Drop every table (the whole store)."""
    op.drop_index("ix_sample_requests_revision", table_name="sample_requests")
    op.drop_index("ix_sample_requests_product_id", table_name="sample_requests")
    op.drop_index("ix_sample_requests_merchant_id", table_name="sample_requests")
    op.drop_index("ix_sample_requests_creator_id", table_name="sample_requests")
    op.drop_table("sample_requests")
    op.drop_table("revisions")
    op.drop_index("ix_quarantined_events_event_id", table_name="quarantined_events")
    op.drop_table("quarantined_events")
    op.drop_index("ix_promotions_revision", table_name="promotions")
    op.drop_index("ix_promotions_product_id", table_name="promotions")
    op.drop_index("ix_promotions_plan_id", table_name="promotions")
    op.drop_index("ix_promotions_creator_id", table_name="promotions")
    op.drop_table("promotions")
    op.drop_index("ix_products_revision", table_name="products")
    op.drop_index("ix_products_merchant_id", table_name="products")
    op.drop_table("products")
    op.drop_index("ix_plans_revision", table_name="plans")
    op.drop_index("ix_plans_product_id", table_name="plans")
    op.drop_table("plans")
    op.drop_index("ix_orders_revision", table_name="orders")
    op.drop_index("ix_orders_promotion_id", table_name="orders")
    op.drop_table("orders")
    op.drop_index("ix_merchants_revision", table_name="merchants")
    op.drop_table("merchants")
    op.drop_index("ix_invites_revision", table_name="invites")
    op.drop_index("ix_invites_product_id", table_name="invites")
    op.drop_index("ix_invites_creator_id", table_name="invites")
    op.drop_table("invites")
    op.drop_table("events")
    op.drop_index("ix_creators_revision", table_name="creators")
    op.drop_table("creators")
    op.drop_index("ix_collaborations_revision", table_name="collaborations")
    op.drop_index("ix_collaborations_product_id", table_name="collaborations")
    op.drop_index("ix_collaborations_creator_id", table_name="collaborations")
    op.drop_table("collaborations")
    op.drop_table("api_keys")
