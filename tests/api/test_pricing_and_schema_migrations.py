"""Prices and plan rules; the API's own Alembic history beside the catalog's."""

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
from nexus_core.models import Quality, Resolution, VideoRequest
from nexus_core.pricing import PLAN_LIMITS, Plan, plan_violations, token_cost


def _request(**fields: object) -> VideoRequest:
    return VideoRequest(prompt="Tides", **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fields", "cost"),
    [
        ({"duration_seconds": 30, "quality": "STANDARD", "resolution": "720p"}, 30),
        ({"duration_seconds": 30, "quality": "HD", "resolution": "720p"}, 45),
        ({"duration_seconds": 5, "quality": "STANDARD", "resolution": "360p"}, 3),  # 2.5 rounds up
        ({"duration_seconds": 600, "quality": "ULTRA", "resolution": "2160p"}, 7200),
        ({"duration_seconds": 7, "quality": "HD", "resolution": "480p"}, 8),  # 7.875
    ],
)
def test_cost_is_duration_times_quality_times_resolution(fields: dict[str, object], cost: int) -> None:
    assert token_cost(_request(**fields)) == cost


def test_cost_grows_with_every_factor() -> None:
    base = token_cost(_request(duration_seconds=30))
    assert token_cost(_request(duration_seconds=60)) > base
    assert token_cost(_request(duration_seconds=30, quality=Quality.ULTRA)) > base
    assert token_cost(_request(duration_seconds=30, resolution=Resolution.P1080)) > base


def test_plan_rules() -> None:
    ultra_4k = _request(quality="ULTRA", resolution="2160p", duration_seconds=300)
    assert [v.field for v in plan_violations(Plan.FREE, ultra_4k)] == ["quality", "resolution", "duration_seconds"]
    assert plan_violations(Plan.PREMIUM, ultra_4k) == []
    assert plan_violations(Plan.VIP, ultra_4k) == []
    assert plan_violations(Plan.FREE, _request(quality="HD", resolution="1080p", duration_seconds=120)) == []
    assert set(PLAN_LIMITS) == set(Plan)


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
