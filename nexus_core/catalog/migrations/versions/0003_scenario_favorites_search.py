"""The scenario in the catalog (JSONB + GIN jsonb_path_ops on PostgreSQL), favorites, search text, adjustments,
and the partial indexes of favorites and of the videos in flight.

Search (?q=) matches every word as a case-insensitive substring of the title and narration. On PostgreSQL a
pg_trgm GIN index serves those LIKE '%word%' filters (pg_trgm ships with PostgreSQL's contrib and is a trusted
extension since 13: the database owner may create it); where the extension cannot be created the index is
skipped with a warning and search still works, scanning.

Revision ID: 0003
Revises: 0002
Create Date: 2026-01-21
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_IN_FLIGHT = "status IN ('QUEUED', 'PROCESSING')"
_FAVORITE = "favorited_at IS NOT NULL"
log = logging.getLogger(__name__)


def _create_trigram_index() -> None:
    bind = op.get_bind()
    savepoint = bind.begin_nested()
    try:
        bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except sa.exc.DBAPIError as exc:
        savepoint.rollback()
        log.warning("pg_trgm is not available (%s): ?q= search on the catalog will scan instead of using an index",
                    exc.orig)
        return
    savepoint.commit()
    op.create_index("ix_videos_search_text", "videos", ["search_text"], postgresql_using="gin",
                    postgresql_ops={"search_text": "gin_trgm_ops"})


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    with op.batch_alter_table("videos") as batch:
        batch.add_column(sa.Column("scenario", JSONB() if postgres else sa.JSON(), nullable=True))
        batch.add_column(sa.Column("search_text", sa.Text(), nullable=True))
        batch.add_column(sa.Column("favorited_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("adjustments", sa.JSON(), nullable=True))
    op.create_index("ix_videos_favorites", "videos", ["user_id", "created_at"],
                    postgresql_where=sa.text(_FAVORITE), sqlite_where=sa.text(_FAVORITE))
    op.create_index("ix_videos_in_flight", "videos", ["user_id", "status", "created_at"],
                    postgresql_where=sa.text(_IN_FLIGHT), sqlite_where=sa.text(_IN_FLIGHT))
    if postgres:
        op.create_index("ix_videos_scenario", "videos", ["scenario"], postgresql_using="gin",
                        postgresql_ops={"scenario": "jsonb_path_ops"})
        _create_trigram_index()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_videos_search_text")
        op.drop_index("ix_videos_scenario", table_name="videos")
    op.drop_index("ix_videos_in_flight", table_name="videos")
    op.drop_index("ix_videos_favorites", table_name="videos")
    with op.batch_alter_table("videos") as batch:
        batch.drop_column("adjustments")
        batch.drop_column("favorited_at")
        batch.drop_column("search_text")
        batch.drop_column("scenario")
