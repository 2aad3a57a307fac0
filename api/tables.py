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
    # When the plan's welcome tokens were credited; NULL until then (an admin's grant may open it first).
    Column("welcomed_at", UTCDateTime()),
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
    # Released reservations, checked against re-made (COMPLETED) videos at each settlement pass.
    Index("ix_api_reservations_released", "video_id", postgresql_where=text("state = 'released'"),
          sqlite_where=text("state = 'released'")),
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

# Webhooks (api.webhooks): a user's endpoints, one delivery per (endpoint, video, event, step) written in
# the transaction that changed the status (or by the observer that saw the pipeline change it), and the
# log of every attempt.
WEBHOOK_DELIVERY_STATES = ("pending", "delivered", "failed")

webhook_endpoints = Table(
    "api_webhook_endpoints",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("user_id", String(128), nullable=False),
    Column("url", Text, nullable=False),
    Column("description", String(200)),
    Column("events", JSON(), nullable=False),
    Column("secret", String(100), nullable=False),
    # After a rotation the previous secret signs too (a second v1 signature) until previous_until.
    Column("previous_secret", String(100)),
    Column("previous_until", UTCDateTime()),
    # Set for a request's callback_url: the endpoint only hears about that one video.
    Column("video_id", String(64)),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index("ix_api_webhook_endpoints_user_id", "user_id"),
)

webhook_deliveries = Table(
    "api_webhook_deliveries",
    metadata,
    Column("id", String(40), primary_key=True),  # the webhook-id header: the same on every retry and replay
    Column("endpoint_id", String(40), nullable=False),
    Column("user_id", String(128), nullable=False),
    Column("video_id", String(64)),
    Column("event_type", String(32), nullable=False),
    Column("step", String(64), nullable=False, server_default=""),  # video.progress: the phase; else ''
    Column("payload", JSON(), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UTCDateTime(), nullable=False),
    Column("lease_until", UTCDateTime()),
    Column("retry_from", UTCDateTime(), nullable=False),  # attempts go on until retry_from + the retry period
    Column("last_status_code", Integer),
    Column("last_error", Text),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("delivered_at", UTCDateTime()),
    CheckConstraint(_in("status", WEBHOOK_DELIVERY_STATES), name="status"),
    UniqueConstraint("endpoint_id", "video_id", "event_type", "step"),
    Index("ix_api_webhook_deliveries_due", "next_attempt_at", postgresql_where=text("status = 'pending'"),
          sqlite_where=text("status = 'pending'")),
    Index("ix_api_webhook_deliveries_endpoint_id_created_at", "endpoint_id", "created_at"),
)

webhook_attempts = Table(
    "api_webhook_attempts",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("delivery_id", String(40), nullable=False),
    Column("endpoint_id", String(40), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("status_code", Integer),  # NULL: no answer (timeout, refused connection, refused address)
    Column("error", Text),
    Column("duration_ms", Integer, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_api_webhook_attempts_delivery_id_attempt", "delivery_id", "attempt"),
    Index("ix_api_webhook_attempts_endpoint_id_id", "endpoint_id", "id"),
)
