"""The API's own tables (accounts, ledger, reservations, idempotency keys, outbox), beside the catalog's.

They live in the catalog's database under their own Alembic history (api/migrations, version table
api_alembic_version), so nexus_core never imports the API. No foreign keys into `videos`: the two
histories migrate independently.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from nexus_core.catalog.tables import NAMING_CONVENTION, UTCDateTime

metadata = MetaData(naming_convention=NAMING_CONVENTION)

# An auto-incrementing 64-bit key: BIGSERIAL-like on PostgreSQL, INTEGER PRIMARY KEY (rowid) on SQLite.
AutoId = BigInteger().with_variant(Integer(), "sqlite")

LEDGER_KINDS = ("grant", "reserve", "charge", "release")
RESERVATION_STATES = ("reserved", "charged", "released")
OUTBOX_KINDS = ("generate", "cancel")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


accounts = Table(
    "api_accounts",
    metadata,
    Column("user_id", String(128), primary_key=True),
    Column("plan", String(16), nullable=False),
    Column("balance", BigInteger, nullable=False),
    Column("reserved", BigInteger, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    CheckConstraint("balance >= 0", name="balance_not_negative"),
    CheckConstraint("reserved >= 0", name="reserved_not_negative"),
)

# Append-only: every movement of a balance, with the balances after it. A video has at most one row of
# each kind (the unique constraint is the last line of defence against a double settlement).
ledger = Table(
    "api_ledger",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("user_id", String(128), nullable=False),
    Column("video_id", String(64)),
    Column("kind", String(16), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("balance_after", BigInteger, nullable=False),
    Column("reserved_after", BigInteger, nullable=False),
    Column("note", Text),
    Column("created_at", UTCDateTime(), nullable=False),
    CheckConstraint(_in("kind", LEDGER_KINDS), name="kind"),
    CheckConstraint("amount > 0", name="amount_positive"),
    UniqueConstraint("video_id", "kind"),
    Index("ix_api_ledger_user_id_id", "user_id", "id"),
)

# One per video: the tokens held for it until the pipeline's final status settles them, exactly once.
reservations = Table(
    "api_reservations",
    metadata,
    Column("video_id", String(64), primary_key=True),
    Column("user_id", String(128), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("state", String(16), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("settled_at", UTCDateTime()),
    CheckConstraint(_in("state", RESERVATION_STATES), name="state"),
    CheckConstraint("amount > 0", name="amount_positive"),
    Index("ix_api_reservations_state", "state", postgresql_where=text("state = 'reserved'"),
          sqlite_where=text("state = 'reserved'")),
)

# The first answer to a POST with an Idempotency-Key, replayed to its retries.
idempotency_keys = Table(
    "api_idempotency_keys",
    metadata,
    Column("user_id", String(128), nullable=False),
    Column("key", String(255), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("response", JSON(), nullable=False),
    Column("video_id", String(64)),
    Column("created_at", UTCDateTime(), nullable=False),
    PrimaryKeyConstraint("user_id", "key"),
    Index("ix_api_idempotency_keys_created_at", "created_at"),
)

# Written in the same transaction as the request; the relay hands each row to the pipeline.
outbox = Table(
    "api_outbox",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("video_id", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("payload", JSON(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("available_at", UTCDateTime(), nullable=False),
    Column("lease_until", UTCDateTime()),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("delivered_at", UTCDateTime()),
    Column("last_error", Text),
    CheckConstraint(_in("kind", OUTBOX_KINDS), name="kind"),
    Index("ix_api_outbox_pending", "available_at", "id", postgresql_where=text("delivered_at IS NULL"),
          sqlite_where=text("delivered_at IS NULL")),
    Index("ix_api_outbox_video_id", "video_id"),
)
