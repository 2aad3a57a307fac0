"""The API's database: the catalog's database, its engine, sessions, and both migration histories."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, text

from nexus_core.catalog import migrate as catalog_migrate
from nexus_core.catalog.engine import WRITE_OPTION, make_engine, normalize_url
from nexus_core.catalog.migrate import MigrationHistory

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
VERSION_TABLE = "api_alembic_version"
API_HISTORY = MigrationHistory(MIGRATIONS_DIR, version_table=VERSION_TABLE, lock_name=b"NXVAPI01")


def head_revision() -> str:
    return API_HISTORY.head()


def current_revision(connection: Connection) -> str | None:
    return API_HISTORY.current(connection)


def upgrade(engine: Engine) -> None:
    """The catalog's migrations, then the API's; no-ops at head, serialized when processes race."""
    catalog_migrate.upgrade(engine)
    API_HISTORY.upgrade(engine)


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
