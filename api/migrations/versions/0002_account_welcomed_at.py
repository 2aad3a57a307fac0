"""Accounts remember when their plan's welcome tokens were given (once, whichever call opened them);
released reservations are indexed for charging videos re-made after they failed.

Revision ID: api_0002
Revises: api_0001
Create Date: 2026-01-20
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "api_0002"
down_revision: str | None = "api_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_accounts") as batch:
        batch.add_column(sa.Column("welcomed_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_api_reservations_released", "api_reservations", ["video_id"],
                    postgresql_where=sa.text("state = 'released'"), sqlite_where=sa.text("state = 'released'"))
    # Accounts that already had their welcome row keep it; those opened by a grant get theirs on next sight.
    op.execute(
        "UPDATE api_accounts SET welcomed_at = created_at WHERE user_id IN "
        "(SELECT user_id FROM api_ledger WHERE kind = 'grant' AND note LIKE 'welcome to the %')"
    )


def downgrade() -> None:
    op.drop_index("ix_api_reservations_released", table_name="api_reservations")
    with op.batch_alter_table("api_accounts") as batch:
        batch.drop_column("welcomed_at")
