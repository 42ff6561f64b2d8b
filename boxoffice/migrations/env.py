"""Alembic environment: runs on PostgreSQL and SQLite (batch mode) with the sync driver."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

import boxoffice.models  # noqa: F401  (registers every table)
from boxoffice.db import sync_url
from boxoffice.models import metadata

config = context.config
url = sync_url(config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url") or "")


def run_migrations_offline() -> None:
    context.configure(url=url, target_metadata=metadata, literal_binds=True, render_as_batch=url.startswith("sqlite"))
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata, render_as_batch=url.startswith("sqlite"))
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
