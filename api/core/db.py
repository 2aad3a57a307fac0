"""The API's database: the catalog's database, its engine, sessions, and both migration histories."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, text

from nexus_core.catalog import migrate as catalog_migrate
from nexus_core.catalog.engine import WRITE_OPTION, make_engine, normalize_url

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
VERSION_TABLE = "api_alembic_version"
_PG_LOCK_KEY = int.from_bytes(b"NXVAPI01", "big")


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations found under {MIGRATIONS_DIR}")
    return head


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE}).get_current_revision()


def upgrade(engine: Engine) -> None:
    """The catalog's migrations, then the API's; no-ops at head, serialized when processes race."""
    catalog_migrate.upgrade(engine)
    head = head_revision()
    with engine.connect() as conn:
        if current_revision(conn) == head:
            return
    with engine.execution_options(**{WRITE_OPTION: True}).begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        command.upgrade(alembic_config(conn), "head")


class Database:
    """One engine per process; `read()` gives a connection for reads, `write()` one inside a transaction.

    On SQLite a write transaction takes the write lock up front (BEGIN IMMEDIATE), so read-modify-writes
    serialize; on PostgreSQL the ledger relies on conditional UPDATEs and row locks instead.
    """

    def __init__(self, url: str, *, pool_size: int = 20, max_overflow: int = 20, migrate: bool = True) -> None:
        parsed = normalize_url(url)
        self.backend = parsed.get_backend_name()
        if self.backend == "postgresql":
            # No pre-ping (a round trip per checkout, a third of a status read); a connection found dead is
            # invalidated with every older one, so a database restart costs each worker one failed request.
            # Reads get their own autocommit pool: one round trip per statement, no BEGIN/COMMIT, and no
            # isolation level to reset on every checkin (a read of several statements may see commits in
            # between, which the routes tolerate).
            options: dict[str, Any] = {
                "pool_size": pool_size, "max_overflow": max_overflow, "pool_recycle": 1800,
                "connect_args": {"application_name": "nexus-api", "connect_timeout": 10},
            }
            self.engine = create_engine(parsed, **options)
            self._read_engine = create_engine(parsed, isolation_level="AUTOCOMMIT", **options)
        else:
            # SQLite's engine begins its own transactions (BEGIN IMMEDIATE for writes), so reads stay in one.
            self.engine = make_engine(parsed)
            self._read_engine = self.engine
        self._write_engine = self.engine.execution_options(**{WRITE_OPTION: True})
        if migrate:
            upgrade(self.engine)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection for reads (Core, not the ORM: the routes' SQL is Core, and the ORM costs a fifth of a
        status read)."""
        if self.backend == "postgresql":
            with self._read_engine.connect() as conn:
                yield conn
        else:
            with self._read_engine.begin() as conn:
                yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A connection inside one transaction: committed on exit, rolled back on an exception."""
        with self._write_engine.begin() as conn:
            yield conn

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def close(self) -> None:
        self.engine.dispose()
        self._read_engine.dispose()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
