"""The store tables of tasks (issue 22): a merchant's brief with products and deliverables, the creators invited to
it or applying, each accepted creator's deliverable units with their state history, and the content submitted for
review with the compliance findings.

Defined on :data:`recsys.core.schema.METADATA` (``recsys.core.store`` imports this module, so the schema knows
them). Money is integer fen (yuan x 100), like the ledger tables: exact on SQLite and PostgreSQL. Every state change
is a row of ``task_deliverable_transitions`` (who, when, from, to, reasons), so a deliverable's history is never
overwritten and reports can read states point in time. A deliverable's fixed fee, once it passed QA, is part of the
creator's withdrawable balance; ``task_deliverables.withdrawal_id`` names the withdrawal that paid it (one column:
a fee is paid by at most one withdrawal, set under the creator's ledger lock, see ``serving.ledger_store``).

| table | one row per |
|---|---|
| ``tasks`` | task (brief, goal, rules, milestones, target creator profile, fixed fee per deliverable) |
| ``task_products`` | (task, product) |
| ``task_creators`` | (task, creator): an invitation or an application, and its answer |
| ``task_deliverables`` | deliverable unit of an accepted creator (one video, one live, one post) |
| ``task_deliverable_transitions`` | state change of a deliverable |
| ``task_submissions`` | text + link a creator submitted for a deliverable, with findings and the rules version |
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from recsys.core.schema import METADATA, REVISION_COLUMN

_JSON = sa.JSON().with_variant(JSONB(), "postgresql")

TASKS = sa.Table(
    "tasks",
    METADATA,
    sa.Column("task_id", sa.String(), primary_key=True),
    sa.Column("merchant_id", sa.String(), nullable=False, index=True),
    sa.Column("title", sa.String(), nullable=False),
    sa.Column("goal", sa.String(), nullable=False),  # exposure | add_to_cart | purchase
    sa.Column("status", sa.String(), nullable=False),  # open | closed
    sa.Column("brief", sa.Text(), nullable=False),
    sa.Column("talking_points", _JSON, nullable=False),  # list[str]
    sa.Column("required_terms", _JSON, nullable=False),  # list[str]
    sa.Column("forbidden_terms", _JSON, nullable=False),  # list[str]
    sa.Column("disclosure_required", sa.Boolean(), nullable=False),
    sa.Column("deliverables", _JSON, nullable=False),  # list[{format, quantity, live_minutes}]
    sa.Column("milestones", _JSON, nullable=False),  # list[{name, due}] in order
    sa.Column("target_profile", _JSON, nullable=False),  # creator-search filter names -> values
    sa.Column("fee_per_deliverable_fen", sa.BigInteger(), nullable=True),  # fixed fee (保底), per deliverable unit
    sa.Column("starts_at", sa.DateTime(), nullable=False),
    sa.Column("ends_at", sa.DateTime(), nullable=True),  # the last milestone's date, end of day
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Column(REVISION_COLUMN, sa.BigInteger(), nullable=False, default=0, index=True),
)

TASK_PRODUCTS = sa.Table(
    "task_products",
    METADATA,
    sa.Column("task_id", sa.String(), primary_key=True),
    sa.Column("product_id", sa.String(), primary_key=True, index=True),
    sa.Column("position", sa.Integer(), nullable=False),
)

TASK_CREATORS = sa.Table(
    "task_creators",
    METADATA,
    sa.Column("task_id", sa.String(), primary_key=True),
    sa.Column("creator_id", sa.String(), primary_key=True, index=True),
    sa.Column("source", sa.String(), nullable=False),  # invitation | application
    sa.Column("status", sa.String(), nullable=False),  # pending | accepted | declined
    sa.Column("note", sa.String(), nullable=True),  # the application's note or the decline reason
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Column("answered_at", sa.DateTime(), nullable=True),
    sa.Column(REVISION_COLUMN, sa.BigInteger(), nullable=False, default=0, index=True),
)

TASK_DELIVERABLES = sa.Table(
    "task_deliverables",
    METADATA,
    sa.Column("deliverable_id", sa.String(), primary_key=True),
    sa.Column("task_id", sa.String(), nullable=False, index=True),
    sa.Column("creator_id", sa.String(), nullable=False, index=True),
    sa.Column("format", sa.String(), nullable=False),  # video | live | post
    sa.Column("unit", sa.Integer(), nullable=False),  # 1..quantity within (creator, format)
    sa.Column("live_minutes", sa.Integer(), nullable=True),
    sa.Column("state", sa.String(), nullable=False),  # to_create | in_review | changes_requested | to_submit | ...
    sa.Column("fee_fen", sa.BigInteger(), nullable=False),  # the fixed fee frozen at acceptance (0: none)
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Column("updated_at", sa.DateTime(), nullable=False),
    sa.Column("passed_qa_at", sa.DateTime(), nullable=True),  # when the fee became owed
    sa.Column("withdrawal_id", sa.String(), nullable=True, index=True),  # the withdrawal that paid the fee, once
    sa.Column(REVISION_COLUMN, sa.BigInteger(), nullable=False, default=0, index=True),
)

TASK_DELIVERABLE_TRANSITIONS = sa.Table(
    "task_deliverable_transitions",
    METADATA,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("deliverable_id", sa.String(), nullable=False, index=True),
    sa.Column("from_state", sa.String(), nullable=True),  # None: the deliverable was created
    sa.Column("to_state", sa.String(), nullable=False),
    sa.Column("at", sa.DateTime(), nullable=False),
    sa.Column("actor", sa.String(), nullable=False),  # admin | merchant:<id> | creator:<id>
    sa.Column("submission_id", sa.String(), nullable=True),
    sa.Column("reasons", _JSON, nullable=False),  # list[str]: the changes requested
)

TASK_SUBMISSIONS = sa.Table(
    "task_submissions",
    METADATA,
    sa.Column("submission_id", sa.String(), primary_key=True),
    sa.Column("task_id", sa.String(), nullable=False, index=True),
    sa.Column("deliverable_id", sa.String(), nullable=False, index=True),
    sa.Column("creator_id", sa.String(), nullable=False, index=True),
    sa.Column("stage", sa.String(), nullable=False),  # draft (a script for review) | final (the published content)
    sa.Column("text", sa.Text(), nullable=False),
    sa.Column("content_link", sa.String(), nullable=True),
    sa.Column("findings", _JSON, nullable=False),  # list[Finding.to_dict()]
    sa.Column("rules_version", sa.String(), nullable=False),
    sa.Column("decision", sa.String(), nullable=True),  # approved | changes_requested (drafts only)
    sa.Column("reasons", _JSON, nullable=False),  # list[str]
    sa.Column("submitted_at", sa.DateTime(), nullable=False),
    sa.Column("decided_at", sa.DateTime(), nullable=True),
)
