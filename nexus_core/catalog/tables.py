"""SQLAlchemy 2 declarative models of the catalog: one row per video, keyed by its partition key."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    Dialect,
    Float,
    Index,
    MetaData,
    String,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from nexus_core.models import VideoStatus

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

STATUS_VALUES: tuple[str, ...] = tuple(s.value for s in VideoStatus)

# Plain JSON on both backends: PostgreSQL's json keeps the text as written, so dicts come back in
# insertion order everywhere (JSONB would reorder keys: phase_seconds is read as a timeline).
JSONDict = JSON()
# The scenario is searched, not read as a timeline: JSONB on PostgreSQL (a GIN jsonb_path_ops index answers
# containment queries such as scenario @> '{"scenes": [{"camera_angle": "aerial"}]}'), JSON text on SQLite.
ScenarioJSON = JSON().with_variant(JSONB(), "postgresql")
IN_FLIGHT: tuple[str, ...] = (VideoStatus.QUEUED.value, VideoStatus.PROCESSING.value)
IN_FLIGHT_SQL = f"status IN ({', '.join(repr(s) for s in IN_FLIGHT)})"


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite stores naive UTC text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the catalog stores timezone-aware UTC times only")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """The catalog's declarative base; its metadata is what the migrations must match."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class VideoRow(Base):
    """One video: its request, where the pipeline is, what it produced and when."""

    __tablename__ = "videos"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str | None] = mapped_column(String(128))
    request: Mapped[dict[str, Any]] = mapped_column(JSONDict)
    status: Mapped[str] = mapped_column(String(16))
    phase: Mapped[str | None] = mapped_column(String(64))
    percent: Mapped[float] = mapped_column(Float)
    artifacts: Mapped[dict[str, str]] = mapped_column(JSONDict)
    error: Mapped[str | None] = mapped_column(Text)
    phase_seconds: Mapped[dict[str, float]] = mapped_column(JSONDict)
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    duration_s: Mapped[float | None] = mapped_column(Float)
    dagster_run_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The scenario's title once the script phase wrote it (for lists, run tags and the UI).
    title: Mapped[str | None] = mapped_column(String(200))
    # Runs that re-made part of the video after it was COMPLETED, oldest first (see Catalog.start_phase).
    remakes: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONDict)  # NULL: none yet
    # The scenario the script phase wrote, and its title and narration casefolded for ?q= search.
    scenario: Mapped[dict[str, Any] | None] = mapped_column(ScenarioJSON)
    search_text: Mapped[str | None] = mapped_column(Text)
    favorited_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # NULL: not a favorite
    # Request fields served differently from what was asked (a preview, ULTRA as HD without a GPU pool).
    adjustments: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONDict)

    __table_args__ = (
        CheckConstraint(f"status IN ({', '.join(repr(s) for s in STATUS_VALUES)})", name="status"),
        CheckConstraint("percent >= 0 AND percent <= 100", name="percent"),
        # A person's videos, newest first; a status's videos (the queue, the failures), newest first;
        # everything, newest first. B-tree indexes serve the descending order by scanning backwards.
        Index("ix_videos_user_id_created_at", "user_id", "created_at"),
        Index("ix_videos_status_created_at", "status", "created_at"),
        Index("ix_videos_created_at", "created_at"),
        # Partial indexes (migration 0003): a person's favorites, and their videos in flight (QUEUED or
        # PROCESSING: a few rows per person, however many finished videos they have).
        Index("ix_videos_favorites", "user_id", "created_at", postgresql_where=text("favorited_at IS NOT NULL"),
              sqlite_where=text("favorited_at IS NOT NULL")),
        Index("ix_videos_in_flight", "user_id", "status", "created_at", postgresql_where=text(IN_FLIGHT_SQL),
              sqlite_where=text(IN_FLIGHT_SQL)),
        # PostgreSQL only: GIN over the scenario (jsonb_path_ops) and trigrams over the search text (pg_trgm).
        # info["only_on"] tells the migrations' comparison (migrate.on_this_backend) to skip them elsewhere.
        Index("ix_videos_scenario", "scenario", postgresql_using="gin", postgresql_ops={"scenario": "jsonb_path_ops"},
              info={"only_on": "postgresql"}).ddl_if(dialect="postgresql"),
        Index("ix_videos_search_text", "search_text", postgresql_using="gin",
              postgresql_ops={"search_text": "gin_trgm_ops"}, info={"only_on": "postgresql"})
        .ddl_if(dialect="postgresql"),
    )


videos = cast(Table, VideoRow.__table__)
