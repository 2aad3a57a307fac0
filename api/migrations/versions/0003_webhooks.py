"""Webhooks: endpoints per user, deliveries (one per endpoint, video, event and step), attempts log.

Revision ID: api_0003
Revises: api_0002
Create Date: 2026-02-10
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "api_0003"
down_revision: str | None = "api_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "api_webhook_endpoints",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("user_id", sa.String(128), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("description", sa.String(200), nullable=True),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("secret", sa.String(100), nullable=False),
        sa.Column("previous_secret", sa.String(100), nullable=True),
        sa.Column("previous_until", _TS, nullable=True),
        sa.Column("video_id", sa.String(64), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_webhook_endpoints")),
    )
    op.create_index("ix_api_webhook_endpoints_user_id", "api_webhook_endpoints", ["user_id"])
    op.create_table(
        "api_webhook_deliveries",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("endpoint_id", sa.String(40), nullable=False),
        sa.Column("user_id", sa.String(128), nullable=False),
        sa.Column("video_id", sa.String(64), nullable=True),
        sa.Column("event_type", sa.String(32), nullable=False),
        sa.Column("step", sa.String(64), server_default="", nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", _TS, nullable=False),
        sa.Column("lease_until", _TS, nullable=True),
        sa.Column("retry_from", _TS, nullable=False),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("delivered_at", _TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_webhook_deliveries")),
        sa.UniqueConstraint("endpoint_id", "video_id", "event_type", "step",
                            name=op.f("uq_api_webhook_deliveries_endpoint_id_video_id_event_type_step")),
        sa.CheckConstraint("status IN ('pending', 'delivered', 'failed')",
                           name=op.f("ck_api_webhook_deliveries_status")),
    )
    op.create_index(
        "ix_api_webhook_deliveries_due", "api_webhook_deliveries", ["next_attempt_at"],
        postgresql_where=sa.text("status = 'pending'"), sqlite_where=sa.text("status = 'pending'"),
    )
    op.create_index("ix_api_webhook_deliveries_endpoint_id_created_at", "api_webhook_deliveries",
                    ["endpoint_id", "created_at"])
    op.create_table(
        "api_webhook_attempts",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("delivery_id", sa.String(40), nullable=False),
        sa.Column("endpoint_id", sa.String(40), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_webhook_attempts")),
    )
    op.create_index("ix_api_webhook_attempts_delivery_id_attempt", "api_webhook_attempts", ["delivery_id", "attempt"])
    op.create_index("ix_api_webhook_attempts_endpoint_id_id", "api_webhook_attempts", ["endpoint_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_api_webhook_attempts_endpoint_id_id", table_name="api_webhook_attempts")
    op.drop_index("ix_api_webhook_attempts_delivery_id_attempt", table_name="api_webhook_attempts")
    op.drop_table("api_webhook_attempts")
    op.drop_index("ix_api_webhook_deliveries_endpoint_id_created_at", table_name="api_webhook_deliveries")
    op.drop_index("ix_api_webhook_deliveries_due", table_name="api_webhook_deliveries")
    op.drop_table("api_webhook_deliveries")
    op.drop_index("ix_api_webhook_endpoints_user_id", table_name="api_webhook_endpoints")
    op.drop_table("api_webhook_endpoints")
