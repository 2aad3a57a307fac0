"""Alembic environment for the catalog: runs on the connection that nexus_core.catalog.migrate hands it."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from nexus_core.catalog.tables import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Use the caller's connection (and its transaction and lock), else connect to sqlalchemy.url."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("the catalog migrations run online only (nexus_core.catalog.migrate.upgrade)")
run_migrations_online()
