"""Runs the catalog's Alembic migrations from code: no alembic.ini, safe when processes race to open."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# The pg_advisory_xact_lock key: any fixed bigint, the same in every process.
_PG_LOCK_KEY = int.from_bytes(b"NXVCATAL", "big")


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic Config for the packaged migrations, bound to a connection when one is given."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision shipped with this code."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations found under {MIGRATIONS_DIR}")
    return head


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at, or None when it has never been migrated."""
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine) -> None:
    """Bring the database to head; a no-op when it is there, serialized when processes race."""
    head = head_revision()
    with engine.connect() as conn:
        if current_revision(conn) == head:
            return
    # One transaction holds the lock for the whole upgrade: an advisory lock on PostgreSQL, the write
    # lock on SQLite (the engine begins write transactions IMMEDIATE). DDL is transactional on both, so
    # a second process waits, then finds the database at head and does nothing.
    with engine.execution_options(catalog_write=True).begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        command.upgrade(alembic_config(conn), "head")
