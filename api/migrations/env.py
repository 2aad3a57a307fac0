"""Alembic environment for the API's tables: runs on the connection that api.migrate hands it.

Its own version table (api_alembic_version) keeps this history apart from the catalog's; only tables
named api_* are compared, so the catalog's tables are never touched from here.
"""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import Connection, create_engine

from api.tables import metadata

VERSION_TABLE = "api_alembic_version"
config = context.config


def include_name(name: str | None, type_: str, _parent: Any) -> bool:
    return type_ != "table" or bool(name and name.startswith("api_"))


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        include_name=include_name,
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
    raise RuntimeError("the API migrations run online only (api.migrate.upgrade)")
run_migrations_online()
