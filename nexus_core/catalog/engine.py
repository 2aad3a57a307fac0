"""Builds the catalog's SQLAlchemy engine: WAL SQLite that is safe across threads and processes,
or PostgreSQL through psycopg2."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, exc
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection, StaticPool

PG_DRIVER = "psycopg2"
SQLITE_BUSY_TIMEOUT_S = 30.0
# Execution option read by the SQLite "begin" hook: write transactions take the write lock up front
# (BEGIN IMMEDIATE), so a read-modify-write never loses another process's update.
WRITE_OPTION = "catalog_write"


def normalize_url(url: str | URL) -> URL:
    """Parse a catalog URL; postgres:// and postgresql:// get an explicit driver (psycopg2)."""
    parsed = make_url(url) if isinstance(url, str) else url
    backend, _, driver = parsed.drivername.partition("+")
    if backend in ("postgres", "postgresql"):
        return parsed.set(drivername=f"postgresql+{driver or PG_DRIVER}")
    if backend == "sqlite":
        return parsed
    raise ValueError(
        f"unsupported catalog URL {parsed.render_as_string(hide_password=True)!r}: "
        "use sqlite:///PATH or postgresql://USER@HOST:PORT/DB"
    )


def _is_memory_sqlite(url: URL) -> bool:
    return url.database in (None, "", ":memory:") or bool(url.query.get("mode") == "memory")


def _enable_wal(cursor: Any) -> None:
    """Switch a file database to WAL. Switching needs the database to itself and SQLite answers "database is
    locked" at once, without its busy handler, while another process is opening the same fresh file (seen
    in CI with four processes starting together): retry with a short backoff, up to the busy timeout."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_S
    delay = 0.01
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(0.25, delay * 2)


def _sqlite_engine(url: URL) -> Engine:
    if _is_memory_sqlite(url):
        # One shared connection: for single-threaded tests only; files are the real thing.
        engine = create_engine(url, connect_args={"check_same_thread": False}, poolclass=StaticPool)
    else:
        Path(str(url.database)).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_S})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy's "begin" hook issue BEGIN itself (pysqlite's own handling skips DDL).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
            if not _is_memory_sqlite(url):
                _enable_wal(cursor)
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _postgres_engine(url: URL) -> Engine:
    return create_engine(
        url,
        pool_pre_ping=True,
        connect_args={"application_name": "nexus-catalog", "connect_timeout": 10},
    )


def _forget_connections_after_fork(engine: Engine) -> None:
    """A process forked with pooled connections opens its own instead of sharing the parent's."""

    @event.listens_for(engine, "connect")
    def _remember_pid(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info["pid"] = os.getpid()

    @event.listens_for(engine, "checkout")
    def _check_pid(_dbapi: Any, record: ConnectionPoolEntry, proxy: PoolProxiedConnection) -> None:
        if record.info.get("pid") != os.getpid():
            # SQLAlchemy's documented recipe: drop the parent's connection without closing it.
            record.dbapi_connection = proxy.dbapi_connection = None  # type: ignore[misc]
            raise exc.DisconnectionError("connection was opened by another process; reconnecting")


def make_engine(url: str | URL) -> Engine:
    """The engine for a catalog URL, configured for its backend."""
    parsed = normalize_url(url)
    engine = _sqlite_engine(parsed) if parsed.get_backend_name() == "sqlite" else _postgres_engine(parsed)
    _forget_connections_after_fork(engine)
    return engine
