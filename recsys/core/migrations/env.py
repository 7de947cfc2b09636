"""Alembic environment: migrations run on the connection :func:`recsys.core.migrate.upgrade` passes in.

``recsys db upgrade`` / :meth:`recsys.core.store.Store.create_schema` run them; a developer adds a revision with
``alembic -c recsys/core/migrations/alembic.ini revision --autogenerate -m "what changed"`` (review it by hand).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from recsys.core.schema import METADATA

connection = context.config.attributes.get("connection")
if connection is None:  # the alembic command line: the URL comes from RECSYS_DATABASE_URL / the settings
    from recsys.core.config import get_settings
    from recsys.core.database import make_engine

    engine: sa.Engine = make_engine(get_settings().resolved_database_url)
    with engine.begin() as own:
        context.configure(connection=own, target_metadata=METADATA, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
else:
    context.configure(connection=connection, target_metadata=METADATA, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()
