"""What the API answers (and the few bodies it takes besides the pipeline's VideoRequest)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from nexus_core.models import Aspect, Language, MusicStyle, Quality, Resolution, VideoStatus
from nexus_core.pricing import Plan

PRINTABLE = r"^[^\x00-\x1f\x7f]*$"


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="allow")

    code: str = Field(description="Machine-readable reason, e.g. token_expired, insufficient_tokens.")
    message: str = Field(description="What went wrong, for a person.")
    field: str | None = Field(default=None, description="The request field at fault, when there is one.")


class ErrorResponse(BaseModel):
    error: ErrorDetail


class VideoLinks(BaseModel):
    self: str
    events: str
    cancel: str


class GenerateAccepted(BaseModel):
    """202: the request is recorded and queued."""

    id: str
    status: VideoStatus
    token_cost: int
    queue_position: int = Field(description="1 = next to start.")
    created_at: datetime
    links: VideoLinks


class VideoResult(BaseModel):
    """Where a finished video's files are: short-lived signed URLs."""

    video_url: str
    renditions: dict[str, str] = Field(description="Every encoded rendition by name (h264, h265, ...).")
    captions: dict[str, str] = Field(description="Caption files by format (srt, vtt).")
    thumbnails: list[str] = Field(description="Three clean frames (no captions) at the video's resolution.")
    poster: str | None = Field(default=None, description="A title card: the opening scene with the title.")
    credits_url: str | None = Field(
        default=None, description="credits.txt: the voice, illustrations (OpenMoji, CC BY-SA 4.0) and sources used."
    )
    size_bytes: int | None
    duration_s: float | None
    urls_expire_at: datetime


class RequestOut(BaseModel):
    """The request as recorded (VideoRequest's fields, without re-running its input validators)."""

    prompt: str
    duration_seconds: int
    quality: Quality
    resolution: Resolution
    aspect: Aspect
    frame_rate: int
    music_style: MusicStyle
    voice: str
    language: Language


class VideoOut(BaseModel):
    id: str
    status: VideoStatus
    phase: str | None
    percent: float
    error: str | None
    request: RequestOut
    token_cost: int | None
    queue_position: int | None = Field(description="Set while QUEUED: 1 = next to start.")
    timings: dict[str, float] = Field(description="Seconds spent per asset of the pipeline.")
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    result: VideoResult | None = Field(description="Set when COMPLETED.")
    links: VideoLinks


class VideoSummary(BaseModel):
    id: str
    status: VideoStatus
    phase: str | None
    percent: float
    error: str | None
    prompt: str
    duration_seconds: int
    quality: Quality
    resolution: Resolution
    token_cost: int | None
    created_at: datetime
    completed_at: datetime | None


class VideoPage(BaseModel):
    items: list[VideoSummary]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next (older) page; null at the end.")


class ProgressEvent(BaseModel):
    """The data of one Server-Sent Event (event: progress, or done at a final status)."""

    id: str
    status: VideoStatus
    phase: str | None
    percent: float
    error: str | None = None


class LedgerEntry(BaseModel):
    id: int
    kind: Literal["grant", "reserve", "charge", "release"]
    amount: int
    video_id: str | None
    balance_after: int
    reserved_after: int
    note: str | None
    created_at: datetime


class TokensOut(BaseModel):
    user_id: str
    plan: Plan
    balance: int = Field(description="Spendable tokens.")
    reserved: int = Field(description="Tokens held for videos in flight.")
    entries: list[LedgerEntry] = Field(description="The latest ledger rows, newest first.")


class GrantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: Annotated[str, Field(min_length=1, max_length=128, pattern=PRINTABLE)]
    amount: Annotated[int, Field(ge=1, le=1_000_000_000)]
    note: Annotated[str | None, Field(max_length=200, pattern=PRINTABLE)] = None


class BalanceOut(BaseModel):
    user_id: str
    balance: int
    reserved: int


class HealthOut(BaseModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, str] = Field(default_factory=dict)
