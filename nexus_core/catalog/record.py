"""VideoRecord: an immutable snapshot of one catalog row, with the request as a VideoRequest."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from nexus_core.catalog.tables import VideoRow
from nexus_core.models import VideoRequest, VideoStatus
from nexus_core.service_level import Adjustment


class Remake(BaseModel):
    """One run that re-made part of a COMPLETED video (the video stayed COMPLETED throughout)."""

    model_config = ConfigDict(frozen=True)

    run_id: str | None
    phases: list[str] = Field(description="The phases the run entered, in order.")
    assets: list[str] = Field(default_factory=list, description="The assets it finished, in order.")
    started_at: datetime
    finished_at: datetime | None = None
    error: str | None = Field(default=None, description="Why the re-make failed (the video kept its files).")


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
    title: str | None = None
    remakes: list[Remake] = Field(default_factory=list)
    favorited_at: datetime | None = None
    adjustments: list[Adjustment] = Field(
        default_factory=list, description="Request fields served differently from what was asked (preview, no GPU)."
    )

    @property
    def id(self) -> str:
        return self.video_id

    @property
    def is_final(self) -> bool:
        return self.status.is_final

    @property
    def last_remake(self) -> Remake | None:
        """The latest run that re-made part of this COMPLETED video, if any."""
        return self.remakes[-1] if self.remakes else None

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
            title=row.title,
            remakes=[Remake.model_validate(r) for r in row.remakes or []],
            favorited_at=row.favorited_at,
            adjustments=[Adjustment.model_validate(a) for a in row.adjustments or []],
        )
