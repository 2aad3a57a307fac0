"""The API's own Alembic history beside the catalog's (prices: tests/nexus_core/test_pricing.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from api.core.db import VERSION_TABLE, Database, current_revision, head_revision
from api.tables import metadata
from nexus_core.catalog import Catalog


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_api_migrations_match_the_tables_and_keep_their_own_history(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'api.db'}"
    else:
        make: Callable[[], str] = request.getfixturevalue("new_postgres_database")
        url = make()
    with Database(url) as db, Database(url) as again:  # a second open finds both histories at head
        with db.engine.connect() as conn:
            assert current_revision(conn) == head_revision()
            tables = set(inspect(conn).get_table_names())
            assert {"videos", "alembic_version", VERSION_TABLE, "api_accounts", "api_ledger", "api_reservations",
                    "api_idempotency_keys", "api_outbox"} <= tables
            context = MigrationContext.configure(conn, opts={"include_name": _api_only})
            assert compare_metadata(context, metadata) == []
            assert conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar() == head_revision()
        assert again.backend == backend
    with Catalog(url) as catalog:  # the catalog opens (and migrates) the same database untouched
        assert catalog.list_videos() == []


def _api_only(name: str | None, type_: str, _parent: object) -> bool:
    return type_ != "table" or bool(name and name.startswith("api_") and name != VERSION_TABLE)
