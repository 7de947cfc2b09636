"""The store's SQLAlchemy tables: the dataset tables derived from their specs, and the service's own tables
(API keys, events, revisions, the invitation / sample / collaboration workflows), all on :data:`METADATA`.

Import the names from :mod:`recsys.core.schema`, which re-exports them; a module defining further tables puts them on
the same :data:`METADATA`.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from recsys.core.schema_specs import EXTRA_COLUMN, REVISION_COLUMN, TABLES, ColumnKind, TableSpec

METADATA = sa.MetaData()

_JSON = sa.JSON().with_variant(JSONB(), "postgresql")  # JSONB compares by value (upserts skip identical rows)

_SA_TYPES: dict[ColumnKind, sa.types.TypeEngine] = {
    "str": sa.String(),
    "int": sa.BigInteger(),
    "float": sa.Float(),
    "bool": sa.Boolean(),
    "datetime": sa.DateTime(),
    "str_list": _JSON,
    "tiers": _JSON,
}


def _sa_table(spec: TableSpec) -> sa.Table:
    cols: list[sa.Column] = []
    for c in spec.columns:
        cols.append(
            sa.Column(
                c.name,
                _SA_TYPES[c.kind],
                primary_key=c.name == spec.key,
                nullable=not (c.required or c.name == spec.key),
                index=c.name in spec.references,
            )
        )
    if spec.keeps_extras:
        cols.append(sa.Column(EXTRA_COLUMN, _JSON, nullable=True))
    cols.append(sa.Column(REVISION_COLUMN, sa.BigInteger(), nullable=False, default=0, index=True))
    return sa.Table(spec.name, METADATA, *cols)


SA_TABLES: dict[str, sa.Table] = {name: _sa_table(spec) for name, spec in TABLES.items()}

# Service tables (not part of a dataset directory).
API_KEYS = sa.Table(
    "api_keys",
    METADATA,
    sa.Column("key_id", sa.String(), primary_key=True),
    sa.Column("key_hash", sa.String(), nullable=False, unique=True),
    sa.Column("role", sa.String(), nullable=False),  # admin | merchant | creator
    sa.Column("tenant_id", sa.String(), nullable=True),  # merchant_id or creator_id
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Column("revoked_at", sa.DateTime(), nullable=True),
)

EVENTS = sa.Table(
    "events",
    METADATA,
    sa.Column("event_id", sa.String(), primary_key=True),
    sa.Column("kind", sa.String(), nullable=False),  # promotion | order
    sa.Column("entity_id", sa.String(), nullable=False),
    sa.Column("payload", _JSON, nullable=False),
    sa.Column("received_at", sa.DateTime(), nullable=False),
)

QUARANTINED_EVENTS = sa.Table(
    "quarantined_events",
    METADATA,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.String(), nullable=True, index=True),  # one row per event id (serving/events.py)
    sa.Column("kind", sa.String(), nullable=True),
    sa.Column("payload", _JSON, nullable=False),
    sa.Column("reason", sa.String(), nullable=False),
    sa.Column("received_at", sa.DateTime(), nullable=False),
)

REVISIONS = sa.Table(
    "revisions",
    METADATA,
    sa.Column("name", sa.String(), primary_key=True),
    sa.Column("value", sa.BigInteger(), nullable=False),
)

# Workflow tables (invitations, samples, collaborations: ``recsys.core.workflows``). Every state change has its own
# ``*_at`` column, so features read them point in time; ``revision`` lets services refresh incrementally. Created by
# ``Store.create_schema`` like every table here, so an older store gains them on open, its data untouched.
INVITES = sa.Table(
    "invites",
    METADATA,
    sa.Column("invite_id", sa.String(), primary_key=True),
    sa.Column("product_id", sa.String(), nullable=False, index=True),
    sa.Column("merchant_id", sa.String(), nullable=False),
    sa.Column("creator_id", sa.String(), nullable=False, index=True),
    sa.Column("plan_id", sa.String(), nullable=False),  # the targeted plan the invite lists the creator in
    sa.Column("commission_rate", sa.Float(), nullable=False),
    sa.Column("status", sa.String(), nullable=False),  # pending | accepted | declined (expired: read-time)
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Column("extended_at", sa.DateTime(), nullable=True),  # last time a new invitation extended it
    sa.Column("expires_at", sa.DateTime(), nullable=False),
    sa.Column("accepted_at", sa.DateTime(), nullable=True),
    sa.Column("declined_at", sa.DateTime(), nullable=True),
    sa.Column(REVISION_COLUMN, sa.BigInteger(), nullable=False, default=0, index=True),
)

SAMPLE_REQUESTS = sa.Table(
    "sample_requests",
    METADATA,
    sa.Column("request_id", sa.String(), primary_key=True),
    sa.Column("product_id", sa.String(), nullable=False, index=True),
    sa.Column("merchant_id", sa.String(), nullable=False, index=True),
    sa.Column("creator_id", sa.String(), nullable=False, index=True),
    sa.Column("status", sa.String(), nullable=False),  # requested | approved | rejected | shipped | content_posted
    sa.Column("note", sa.String(), nullable=True),
    sa.Column("requested_at", sa.DateTime(), nullable=False),
    sa.Column("approved_at", sa.DateTime(), nullable=True),
    sa.Column("rejected_at", sa.DateTime(), nullable=True),
    sa.Column("reject_reason", sa.String(), nullable=True),
    sa.Column("shipped_at", sa.DateTime(), nullable=True),
    sa.Column("content_promotion_id", sa.String(), nullable=True),
    sa.Column("content_started_at", sa.DateTime(), nullable=True),  # when the promotion that followed started
    sa.Column("content_recorded_at", sa.DateTime(), nullable=True),  # when the creator reported it
    sa.Column(REVISION_COLUMN, sa.BigInteger(), nullable=False, default=0, index=True),
)

COLLABORATIONS = sa.Table(
    "collaborations",
    METADATA,
    sa.Column("collaboration_id", sa.String(), primary_key=True),
    sa.Column("creator_id", sa.String(), nullable=False, index=True),
    sa.Column("product_id", sa.String(), nullable=False, index=True),
    sa.Column("plan_id", sa.String(), nullable=False),
    sa.Column("source", sa.String(), nullable=False),  # invite
    sa.Column("source_id", sa.String(), nullable=False, unique=True),  # one collaboration per accepted invite
    sa.Column("started_at", sa.DateTime(), nullable=False),
    sa.Column(REVISION_COLUMN, sa.BigInteger(), nullable=False, default=0, index=True),
)
