"""Ledger and experiment tables: withdrawals (issue 16, statements and withdrawals) and A/B experiments.

A development store that got these tables from the code before this migration existed keeps them as they are.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from recsys.core.migrate import create_index_if_new, create_table_if_new

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """The creators' withdrawals (and the orders each paid out), the per-creator ledger lock, and the A/B
    experiments with their exposure counters and events."""
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    create_table_if_new(
        existing,
        "experiment_events",
        sa.Column("event_id", sa.String(), nullable=False),
        sa.Column("experiment", sa.String(), nullable=False),
        sa.Column("arm", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("entity_id", sa.String(), nullable=False),
        sa.Column("gmv", sa.Float(), nullable=False),
        sa.Column("commission", sa.Float(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("event_id"),
    )
    create_index_if_new(existing, "ix_experiment_events_experiment", "experiment_events", ["experiment"], unique=False)
    create_table_if_new(
        existing,
        "experiment_exposures",
        sa.Column("experiment", sa.String(), nullable=False),
        sa.Column("arm", sa.String(), nullable=False),
        sa.Column("requests", sa.BigInteger(), nullable=False),
        sa.Column("exposures", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("experiment", "arm"),
    )
    create_table_if_new(
        existing,
        "experiments",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("stopped_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )
    create_table_if_new(
        existing,
        "ledger_locks",
        sa.Column("creator_id", sa.String(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("creator_id"),
    )
    create_table_if_new(
        existing,
        "withdrawal_orders",
        sa.Column("order_id", sa.String(), nullable=False),
        sa.Column("withdrawal_id", sa.String(), nullable=False),
        sa.Column("creator_id", sa.String(), nullable=False),
        sa.Column("commission_fen", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("order_id"),
    )
    create_index_if_new(existing, "ix_withdrawal_orders_creator_id", "withdrawal_orders", ["creator_id"], unique=False)
    create_index_if_new(
        existing, "ix_withdrawal_orders_withdrawal_id", "withdrawal_orders", ["withdrawal_id"], unique=False
    )
    create_table_if_new(
        existing,
        "withdrawals",
        sa.Column("withdrawal_id", sa.String(), nullable=False),
        sa.Column("creator_id", sa.String(), nullable=False),
        sa.Column("client_key", sa.String(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(), nullable=False),
        sa.Column("order_count", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("withdrawal_id"),
        sa.UniqueConstraint("creator_id", "client_key", name="uq_withdrawals_creator_key"),
    )
    create_index_if_new(existing, "ix_withdrawals_creator_id", "withdrawals", ["creator_id"], unique=False)


def downgrade() -> None:
    """Drop the tables this revision added."""
    op.drop_index("ix_withdrawals_creator_id", table_name="withdrawals")
    op.drop_table("withdrawals")
    op.drop_index("ix_withdrawal_orders_withdrawal_id", table_name="withdrawal_orders")
    op.drop_index("ix_withdrawal_orders_creator_id", table_name="withdrawal_orders")
    op.drop_table("withdrawal_orders")
    op.drop_table("ledger_locks")
    op.drop_table("experiments")
    op.drop_table("experiment_exposures")
    op.drop_index("ix_experiment_events_experiment", table_name="experiment_events")
    op.drop_table("experiment_events")
