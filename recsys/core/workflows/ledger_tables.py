"""The ledger's store tables: withdrawals, the orders each one paid out, and one lock row per creator.

Defined on :data:`recsys.core.schema.METADATA` (``Store.create_schema`` creates them; ``recsys.core.store`` imports
this module so every store has them). Money is stored as integer fen (``*_fen`` = yuan x 100): exact on SQLite and
PostgreSQL alike, with no driver-dependent decimal type.

Why a withdrawal can never pay the same money twice, on either database:

- ``withdrawal_orders.order_id`` is the primary key: an order belongs to at most one withdrawal, whatever the
  interleaving (a second transaction covering it fails with an integrity error and is retried);
- ``withdrawals`` is unique on ``(creator_id, client_key)``: one withdrawal per idempotency key;
- a withdrawal first updates the creator's ``ledger_locks`` row, which takes SQLite's write lock (WAL mode: one
  writer at a time) and PostgreSQL's row lock on that creator, so everything it reads next is the latest committed
  state and concurrent withdrawals of one creator run one after the other.
"""

from __future__ import annotations

import sqlalchemy as sa

from recsys.core.schema import METADATA

WITHDRAWALS = sa.Table(
    "withdrawals",
    METADATA,
    sa.Column("withdrawal_id", sa.String(), primary_key=True),
    sa.Column("creator_id", sa.String(), nullable=False, index=True),
    sa.Column("client_key", sa.String(), nullable=False),  # the caller's Idempotency-Key
    sa.Column("amount_fen", sa.BigInteger(), nullable=False),
    sa.Column("currency", sa.String(), nullable=False),
    sa.Column("order_count", sa.Integer(), nullable=False),
    sa.Column("status", sa.String(), nullable=False),  # paid (the balance left the platform at once)
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.UniqueConstraint("creator_id", "client_key", name="uq_withdrawals_creator_key"),
)

WITHDRAWAL_ORDERS = sa.Table(
    "withdrawal_orders",
    METADATA,
    sa.Column("order_id", sa.String(), primary_key=True),  # an order is paid out once, ever
    sa.Column("withdrawal_id", sa.String(), nullable=False, index=True),
    sa.Column("creator_id", sa.String(), nullable=False, index=True),
    sa.Column("commission_fen", sa.BigInteger(), nullable=False),  # the commission as paid out, frozen
)

LEDGER_LOCKS = sa.Table(
    "ledger_locks",
    METADATA,
    sa.Column("creator_id", sa.String(), primary_key=True),
    sa.Column("version", sa.BigInteger(), nullable=False),  # bumped by every withdrawal attempt (takes the lock)
)
