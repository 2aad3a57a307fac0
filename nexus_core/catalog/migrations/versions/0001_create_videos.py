"""Create the videos table.

Revision ID: 0001
Revises:
Create Date: 2025-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON()
_STATUSES = "'QUEUED', 'PROCESSING', 'COMPLETED', 'FAILED', 'CANCELLED'"


def upgrade() -> None:
    op.create_table(
        "videos",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(128), nullable=True),
        sa.Column("request", _JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("phase", sa.String(64), nullable=True),
        sa.Column("percent", sa.Float(), nullable=False),
        sa.Column("artifacts", _JSON, nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("phase_seconds", _JSON, nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("dagster_run_id", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_videos")),
        sa.CheckConstraint(f"status IN ({_STATUSES})", name=op.f("ck_videos_status")),
        sa.CheckConstraint("percent >= 0 AND percent <= 100", name=op.f("ck_videos_percent")),
    )
    op.create_index("ix_videos_user_id_created_at", "videos", ["user_id", "created_at"])
    op.create_index("ix_videos_status_created_at", "videos", ["status", "created_at"])
    op.create_index("ix_videos_created_at", "videos", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_videos_created_at", table_name="videos")
    op.drop_index("ix_videos_status_created_at", table_name="videos")
    op.drop_index("ix_videos_user_id_created_at", table_name="videos")
    op.drop_table("videos")
