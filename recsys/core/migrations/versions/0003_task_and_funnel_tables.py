"""Task and funnel tables (issue 22): tasks with their products, creators, deliverables (and each deliverable's
state transitions) and submissions with their compliance findings; funnel events (exposure, click, add-to-cart).

A development store that got these tables from the code before this migration existed keeps them as they are.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

from recsys.core.migrate import create_index_if_new, create_table_if_new

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """The task workflow's six tables and the funnel events table."""
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    create_table_if_new(
        existing,
        "funnel_events",
        sa.Column("event_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("creator_id", sa.String(), nullable=False),
        sa.Column("product_id", sa.String(), nullable=False),
        sa.Column("content_format", sa.String(), nullable=False),
        sa.Column("task_id", sa.String(), nullable=True),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("event_id"),
    )
    create_index_if_new(existing, "ix_funnel_events_creator_id", "funnel_events", ["creator_id"], unique=False)
    create_index_if_new(existing, "ix_funnel_events_occurred_at", "funnel_events", ["occurred_at"], unique=False)
    create_index_if_new(existing, "ix_funnel_events_product_id", "funnel_events", ["product_id"], unique=False)
    create_index_if_new(existing, "ix_funnel_events_task_id", "funnel_events", ["task_id"], unique=False)
    create_table_if_new(
        existing,
        "task_creators",
        sa.Column("task_id", sa.String(), nullable=False),
        sa.Column("creator_id", sa.String(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("note", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("answered_at", sa.DateTime(), nullable=True),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("task_id", "creator_id"),
    )
    create_index_if_new(existing, "ix_task_creators_creator_id", "task_creators", ["creator_id"], unique=False)
    create_index_if_new(existing, "ix_task_creators_revision", "task_creators", ["revision"], unique=False)
    create_table_if_new(
        existing,
        "task_deliverable_transitions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("deliverable_id", sa.String(), nullable=False),
        sa.Column("from_state", sa.String(), nullable=True),
        sa.Column("to_state", sa.String(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("submission_id", sa.String(), nullable=True),
        sa.Column(
            "reasons", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    create_index_if_new(
        existing,
        "ix_task_deliverable_transitions_deliverable_id",
        "task_deliverable_transitions",
        ["deliverable_id"],
        unique=False,
    )
    create_table_if_new(
        existing,
        "task_deliverables",
        sa.Column("deliverable_id", sa.String(), nullable=False),
        sa.Column("task_id", sa.String(), nullable=False),
        sa.Column("creator_id", sa.String(), nullable=False),
        sa.Column("format", sa.String(), nullable=False),
        sa.Column("unit", sa.Integer(), nullable=False),
        sa.Column("live_minutes", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("fee_fen", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("passed_qa_at", sa.DateTime(), nullable=True),
        sa.Column("withdrawal_id", sa.String(), nullable=True),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("deliverable_id"),
    )
    create_index_if_new(existing, "ix_task_deliverables_creator_id", "task_deliverables", ["creator_id"], unique=False)
    create_index_if_new(existing, "ix_task_deliverables_revision", "task_deliverables", ["revision"], unique=False)
    create_index_if_new(existing, "ix_task_deliverables_task_id", "task_deliverables", ["task_id"], unique=False)
    create_index_if_new(
        existing, "ix_task_deliverables_withdrawal_id", "task_deliverables", ["withdrawal_id"], unique=False
    )
    create_table_if_new(
        existing,
        "task_products",
        sa.Column("task_id", sa.String(), nullable=False),
        sa.Column("product_id", sa.String(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("task_id", "product_id"),
    )
    create_index_if_new(existing, "ix_task_products_product_id", "task_products", ["product_id"], unique=False)
    create_table_if_new(
        existing,
        "task_submissions",
        sa.Column("submission_id", sa.String(), nullable=False),
        sa.Column("task_id", sa.String(), nullable=False),
        sa.Column("deliverable_id", sa.String(), nullable=False),
        sa.Column("creator_id", sa.String(), nullable=False),
        sa.Column("stage", sa.String(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("content_link", sa.String(), nullable=True),
        sa.Column(
            "findings", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False
        ),
        sa.Column("rules_version", sa.String(), nullable=False),
        sa.Column("decision", sa.String(), nullable=True),
        sa.Column(
            "reasons", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False
        ),
        sa.Column("submitted_at", sa.DateTime(), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("submission_id"),
    )
    create_index_if_new(existing, "ix_task_submissions_creator_id", "task_submissions", ["creator_id"], unique=False)
    create_index_if_new(
        existing, "ix_task_submissions_deliverable_id", "task_submissions", ["deliverable_id"], unique=False
    )
    create_index_if_new(existing, "ix_task_submissions_task_id", "task_submissions", ["task_id"], unique=False)
    create_table_if_new(
        existing,
        "tasks",
        sa.Column("task_id", sa.String(), nullable=False),
        sa.Column("merchant_id", sa.String(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("goal", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("brief", sa.Text(), nullable=False),
        sa.Column(
            "talking_points", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False
        ),
        sa.Column(
            "required_terms", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False
        ),
        sa.Column(
            "forbidden_terms",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("disclosure_required", sa.Boolean(), nullable=False),
        sa.Column(
            "deliverables", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False
        ),
        sa.Column(
            "milestones", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False
        ),
        sa.Column(
            "target_profile", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False
        ),
        sa.Column("fee_per_deliverable_fen", sa.BigInteger(), nullable=True),
        sa.Column("starts_at", sa.DateTime(), nullable=False),
        sa.Column("ends_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("task_id"),
    )
    create_index_if_new(existing, "ix_tasks_merchant_id", "tasks", ["merchant_id"], unique=False)
    create_index_if_new(existing, "ix_tasks_revision", "tasks", ["revision"], unique=False)


def downgrade() -> None:
    """Drop the tables (their rows are lost)."""
    op.drop_index(op.f("ix_tasks_revision"), table_name="tasks")
    op.drop_index(op.f("ix_tasks_merchant_id"), table_name="tasks")
    op.drop_table("tasks")
    op.drop_index(op.f("ix_task_submissions_task_id"), table_name="task_submissions")
    op.drop_index(op.f("ix_task_submissions_deliverable_id"), table_name="task_submissions")
    op.drop_index(op.f("ix_task_submissions_creator_id"), table_name="task_submissions")
    op.drop_table("task_submissions")
    op.drop_index(op.f("ix_task_products_product_id"), table_name="task_products")
    op.drop_table("task_products")
    op.drop_index(op.f("ix_task_deliverables_withdrawal_id"), table_name="task_deliverables")
    op.drop_index(op.f("ix_task_deliverables_task_id"), table_name="task_deliverables")
    op.drop_index(op.f("ix_task_deliverables_revision"), table_name="task_deliverables")
    op.drop_index(op.f("ix_task_deliverables_creator_id"), table_name="task_deliverables")
    op.drop_table("task_deliverables")
    op.drop_index(op.f("ix_task_deliverable_transitions_deliverable_id"), table_name="task_deliverable_transitions")
    op.drop_table("task_deliverable_transitions")
    op.drop_index(op.f("ix_task_creators_revision"), table_name="task_creators")
    op.drop_index(op.f("ix_task_creators_creator_id"), table_name="task_creators")
    op.drop_table("task_creators")
    op.drop_index(op.f("ix_funnel_events_task_id"), table_name="funnel_events")
    op.drop_index(op.f("ix_funnel_events_product_id"), table_name="funnel_events")
    op.drop_index(op.f("ix_funnel_events_occurred_at"), table_name="funnel_events")
    op.drop_index(op.f("ix_funnel_events_creator_id"), table_name="funnel_events")
    op.drop_table("funnel_events")
