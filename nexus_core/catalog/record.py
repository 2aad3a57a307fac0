"""VideoRecord: an immutable snapshot of one catalog row, with the request as a VideoRequest."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from nexus_core.catalog.tables import VideoRow
from nexus_core.models import VideoRequest, VideoStatus


class VideoRecord(BaseModel):
    """One video as the catalog knows it; `video_id` is the `id` column and the Dagster partition key."""

    model_config = ConfigDict(frozen=True)

    video_id: str
    user_id: str | None
    request: VideoRequest
    status: VideoStatus
    phase: str | None
    percent: float = Field(ge=0, le=100)
    artifacts: dict[str, str]
    error: str | None
    phase_seconds: dict[str, float]
    size_bytes: int | None
    duration_s: float | None
    dagster_run_id: str | None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    completed_at: datetime | None

    @property
    def id(self) -> str:
        return self.video_id

    @property
    def is_final(self) -> bool:
        return self.status.is_final

    @classmethod
    def from_row(cls, row: VideoRow) -> VideoRecord:
        """Snapshot an ORM row."""
        return cls(
            video_id=row.id,
            user_id=row.user_id,
            request=VideoRequest.model_validate(row.request),
            status=VideoStatus(row.status),
            phase=row.phase,
            percent=row.percent,
            artifacts=dict(row.artifacts),
            error=row.error,
            phase_seconds=dict(row.phase_seconds),
            size_bytes=row.size_bytes,
            duration_s=row.duration_s,
            dagster_run_id=row.dagster_run_id,
            created_at=row.created_at,
            updated_at=row.updated_at,
            started_at=row.started_at,
            completed_at=row.completed_at,
        )
