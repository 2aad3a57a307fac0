"""Runs the catalog's Alembic migrations from code: no alembic.ini, safe when processes race to open."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, MetaData, create_engine, text

from nexus_core.catalog.engine import WRITE_OPTION

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


@dataclass(frozen=True)
class MigrationHistory:
    """One Alembic history kept in its own version table, upgraded from code under one lock."""

    migrations_dir: Path
    version_table: str = "alembic_version"
    lock_name: bytes = b"NXVCATAL"  # 8 bytes: the pg_advisory_xact_lock key, the same in every process

    def config(self, connection: Connection | None = None) -> Config:
        """An Alembic Config for these migrations, bound to a connection when one is given."""
        config = Config()
        config.set_main_option("script_location", str(self.migrations_dir))
        config.set_main_option("path_separator", "os")
        if connection is not None:
            config.attributes["connection"] = connection
        return config

    def head(self) -> str:
        """The newest revision shipped with this code."""
        head = ScriptDirectory.from_config(self.config()).get_current_head()
        if head is None:
            raise RuntimeError(f"no migrations found under {self.migrations_dir}")
        return head

    def current(self, connection: Connection) -> str | None:
        """The revision the database is at, or None when it has never been migrated."""
        context = MigrationContext.configure(connection, opts={"version_table": self.version_table})
        return context.get_current_revision()

    def upgrade(self, engine: Engine) -> None:
        """Bring the database to head; a no-op when it is there, serialized when processes race."""
        head = self.head()
        with engine.connect() as conn:
            if self.current(conn) == head:
                return
        # One transaction holds the lock for the whole upgrade: an advisory lock on PostgreSQL, the write
        # lock on SQLite (the engine begins write transactions IMMEDIATE). DDL is transactional on both, so
        # a second process waits, then finds the database at head and does nothing.
        with engine.execution_options(**{WRITE_OPTION: True}).begin() as conn:
            if conn.dialect.name == "postgresql":
                key = int.from_bytes(self.lock_name, "big")
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
            command.upgrade(self.config(conn), "head")


CATALOG_HISTORY = MigrationHistory(MIGRATIONS_DIR)


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic Config for the catalog's migrations."""
    return CATALOG_HISTORY.config(connection)


def head_revision() -> str:
    return CATALOG_HISTORY.head()


def current_revision(connection: Connection) -> str | None:
    return CATALOG_HISTORY.current(connection)


def upgrade(engine: Engine) -> None:
    """Bring the catalog to head."""
    CATALOG_HISTORY.upgrade(engine)


def on_this_backend(dialect_name: str) -> Any:
    """An Alembic include_object hook: leave out the model's objects meant for another backend only
    (info["only_on"], e.g. the PostgreSQL GIN indexes), so comparing models and migrations stays exact."""

    def include(obj: Any, _name: str | None, type_: str, reflected: bool, _compare_to: Any) -> bool:
        only_on = getattr(obj, "info", {}).get("only_on") if not reflected else None
        return only_on is None or only_on == dialect_name

    return include


def run_online(alembic_context: Any, metadata: MetaData, *, version_table: str = "alembic_version") -> None:
    """The whole of an env.py: migrate on the caller's connection (its transaction and lock), else on
    sqlalchemy.url; only the tables of this history's own metadata are compared, never another's."""
    if alembic_context.is_offline_mode():
        raise RuntimeError("these migrations run online only (MigrationHistory.upgrade)")

    def own_tables(name: str | None, type_: str, _parent: Any) -> bool:
        return type_ != "table" or name in metadata.tables

    def run(connection: Connection) -> None:
        alembic_context.configure(
            connection=connection,
            target_metadata=metadata,
            version_table=version_table,
            include_name=own_tables,
            include_object=on_this_backend(connection.dialect.name),
            compare_type=True,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with alembic_context.begin_transaction():
            alembic_context.run_migrations()

    config = alembic_context.config
    connection = config.attributes.get("connection")
    if connection is not None:
        run(connection)
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    try:
        with engine.connect() as conn:
            run(conn)
    finally:
        engine.dispose()
