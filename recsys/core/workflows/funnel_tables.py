"""The funnel's store table: exposure, click and add-to-cart events (issue 22), one row per accepted event.

Defined on :data:`recsys.core.schema.METADATA`; ``recsys.core.store`` imports this module so every store knows it.
Migration 0003 creates it (with the task tables) in new stores and upgrades old ones in place. Orders are not
copied here: the report reads them from ``orders`` (via their promotions).
"""

from __future__ import annotations

import sqlalchemy as sa

from recsys.core.schema import METADATA

FUNNEL_EVENTS = sa.Table(
    "funnel_events",
    METADATA,
    sa.Column("event_id", sa.String(), primary_key=True),  # the idempotency id of POST /v1/events
    sa.Column("kind", sa.String(), nullable=False),  # exposure | click | add_to_cart
    sa.Column("creator_id", sa.String(), nullable=False, index=True),
    sa.Column("product_id", sa.String(), nullable=False, index=True),
    sa.Column("content_format", sa.String(), nullable=False),  # video | live | post
    sa.Column("task_id", sa.String(), nullable=True, index=True),  # optional: the task the content was made for
    sa.Column("count", sa.BigInteger(), nullable=False),  # >= 1: one event may carry a pre-aggregated count
    sa.Column("occurred_at", sa.DateTime(), nullable=False, index=True),  # naive UTC
    sa.Column("received_at", sa.DateTime(), nullable=False),
)
