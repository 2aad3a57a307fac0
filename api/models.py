"""What the API answers (and the few bodies it takes besides the pipeline's VideoRequest)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from nexus_core.models import Aspect, Language, MusicStyle, Quality, Resolution, VideoRequest, VideoStatus
from nexus_core.pricing import Plan
from nexus_core.service_level import Adjustment

PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
ADJUSTMENTS = ("Request fields served differently from what was asked, and why: a preview (720p at most, STANDARD), "
               "or ULTRA served and charged as HD where the deployment has no GPU pool.")


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


class GenerateRequest(VideoRequest):
    """The body of POST /videos/generate: what to make, and optionally where to POST its final event."""

    callback_url: Annotated[str | None, Field(
        min_length=8, max_length=2000, pattern=r"^https?://", examples=["https://example.com/hooks/video-done"],
        description="Receives this video's video.completed, video.failed or video.cancelled event, signed "
                    "(Standard Webhooks) with the secret in the 202 answer's `callback`.")] = None

    def video_request(self) -> VideoRequest:
        """The request the pipeline gets (without the callback)."""
        return VideoRequest.model_validate(self.model_dump(exclude={"callback_url"}))


class CallbackOut(BaseModel):
    webhook_id: str = Field(description="The endpoint made for callback_url: its delivery log is "
                                        "/webhooks/{webhook_id}/deliveries.")
    secret: str = Field(description="whsec_...: verifies the callback's signature; shown in this answer only.")


class GenerateAccepted(BaseModel):
    """202: the request is recorded and queued."""

    id: str
    status: VideoStatus
    token_cost: int
    queue_position: int = Field(description="1 = next to start.")
    created_at: datetime
    links: VideoLinks
    callback: CallbackOut | None = Field(default=None, description="Set when the request has a callback_url.")
    adjustments: list[Adjustment] = Field(default_factory=list, description=ADJUSTMENTS)


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
    preview: bool = False


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
    title: str | None = Field(default=None, description="The scenario's title, once the script is written.")
    favorite: bool = False
    favorited_at: datetime | None = None
    adjustments: list[Adjustment] = Field(default_factory=list, description=ADJUSTMENTS)


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
    title: str | None = None
    favorite: bool = False
    preview: bool = False


class FavoriteOut(BaseModel):
    """PUT or DELETE /videos/{id}/favorite: whether the video is now one of the caller's favorites."""

    id: str
    favorite: bool
    favorited_at: datetime | None = Field(description="When it was first marked (marking again keeps it).")


class VideoPage(BaseModel):
    items: list[VideoSummary]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next (older) page; null at the end.")


class ProgressEvent(BaseModel):
    """The data of one Server-Sent Event (event: progress, or done at a final status)."""

    id: str
    status: VideoStatus
    phase: str | None
    percent: int = Field(ge=0, le=100, description="The whole run, weighted by phase; it never goes down.")
    phase_percent: int = Field(ge=0, le=100, description="How far the current phase is.")
    eta_s: int | None = Field(default=None, description="Estimated seconds left; null until 5 % is done.")
    error: str | None = None
    result: VideoResult | None = Field(default=None, description="In the `done` event of a COMPLETED video.")
    adjustments: list[Adjustment] | None = Field(default=None, description="In the `done` event: " + ADJUSTMENTS)


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
