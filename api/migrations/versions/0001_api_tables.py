"""Create the API's tables: accounts, ledger, reservations, idempotency keys, outbox.

Revision ID: api_0001
Revises:
Create Date: 2025-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "api_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "api_accounts",
        sa.Column("user_id", sa.String(128), nullable=False),
        sa.Column("plan", sa.String(16), nullable=False),
        sa.Column("balance", sa.BigInteger(), nullable=False),
        sa.Column("reserved", sa.BigInteger(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_api_accounts")),
        sa.CheckConstraint("balance >= 0", name=op.f("ck_api_accounts_balance_not_negative")),
        sa.CheckConstraint("reserved >= 0", name=op.f("ck_api_accounts_reserved_not_negative")),
    )
    op.create_table(
        "api_ledger",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("user_id", sa.String(128), nullable=False),
        sa.Column("video_id", sa.String(64), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("balance_after", sa.BigInteger(), nullable=False),
        sa.Column("reserved_after", sa.BigInteger(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_ledger")),
        sa.UniqueConstraint("video_id", "kind", name=op.f("uq_api_ledger_video_id_kind")),
        sa.CheckConstraint("kind IN ('grant', 'reserve', 'charge', 'release')", name=op.f("ck_api_ledger_kind")),
        sa.CheckConstraint("amount > 0", name=op.f("ck_api_ledger_amount_positive")),
    )
    op.create_index("ix_api_ledger_user_id_id", "api_ledger", ["user_id", "id"])
    op.create_table(
        "api_reservations",
        sa.Column("video_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(128), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("settled_at", _TS, nullable=True),
        sa.PrimaryKeyConstraint("video_id", name=op.f("pk_api_reservations")),
        sa.CheckConstraint(
            "state IN ('reserved', 'charged', 'released')", name=op.f("ck_api_reservations_state")
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_api_reservations_amount_positive")),
    )
    op.create_index(
        "ix_api_reservations_state", "api_reservations", ["state"],
        postgresql_where=sa.text("state = 'reserved'"), sqlite_where=sa.text("state = 'reserved'"),
    )
    op.create_table(
        "api_idempotency_keys",
        sa.Column("user_id", sa.String(128), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response", sa.JSON(), nullable=False),
        sa.Column("video_id", sa.String(64), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("user_id", "key", name=op.f("pk_api_idempotency_keys")),
    )
    op.create_index("ix_api_idempotency_keys_created_at", "api_idempotency_keys", ["created_at"])
    op.create_table(
        "api_outbox",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("video_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("available_at", _TS, nullable=False),
        sa.Column("lease_until", _TS, nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("delivered_at", _TS, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_outbox")),
        sa.CheckConstraint("kind IN ('generate', 'cancel')", name=op.f("ck_api_outbox_kind")),
    )
    op.create_index(
        "ix_api_outbox_pending", "api_outbox", ["available_at", "id"],
        postgresql_where=sa.text("delivered_at IS NULL"), sqlite_where=sa.text("delivered_at IS NULL"),
    )
    op.create_index("ix_api_outbox_video_id", "api_outbox", ["video_id"])


def downgrade() -> None:
    op.drop_index("ix_api_outbox_video_id", table_name="api_outbox")
    op.drop_index("ix_api_outbox_pending", table_name="api_outbox")
    op.drop_table("api_outbox")
    op.drop_index("ix_api_idempotency_keys_created_at", table_name="api_idempotency_keys")
    op.drop_table("api_idempotency_keys")
    op.drop_index("ix_api_reservations_state", table_name="api_reservations")
    op.drop_table("api_reservations")
    op.drop_index("ix_api_ledger_user_id_id", table_name="api_ledger")
    op.drop_table("api_ledger")
    op.drop_table("api_accounts")
