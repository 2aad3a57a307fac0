"""The messages the webhooks POST, typed: what `store.message` / `store.video_data` write, with the `result`
the worker adds to a video.completed when it sends it, and `store.record_test`'s webhook.test.

The OpenAPI document's `webhooks` section (api.routes.webhook_events) is made from these models, and the
receiver tests validate every message they get against them: the documented shape cannot drift from what
is sent. Unknown fields are refused (extra="forbid") for that reason; receivers should ignore new fields.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from api.models import ADJUSTMENTS, VideoResult
from api.webhooks.store import EVENT_TYPES, TEST_EVENT
from nexus_core.models import VideoStatus
from nexus_core.service_level import NO_GPU_REASON, Adjustment


class VideoLinks(BaseModel):
    """Where to read more about the video (paths on the API: add its address; a bearer token is needed)."""

    model_config = ConfigDict(extra="forbid")

    self: str = Field(description="GET it for the full record.", examples=["/api/v1/videos/3f9c2a71b04e4d58"])
    events: str = Field(description="Its Server-Sent Events stream.",
                        examples=["/api/v1/videos/3f9c2a71b04e4d58/events"])


class VideoEventData(BaseModel):
    """The video as it was when the event happened."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="The video's id, as `POST /api/v1/videos/generate` answered it.")
    status: VideoStatus
    phase: str | None = Field(description="The pipeline phase (script, assets, compositing, rendering, encoding, "
                                          "finalization); for video.progress, the one just started.")
    percent: float = Field(description="Progress, 0 to 100.")
    error: str | None = Field(description="Why it failed (video.failed).")
    title: str | None = Field(description="The title the script gave it, once written.")
    created_at: datetime
    completed_at: datetime | None
    duration_s: float | None = Field(description="Length of the finished video.")
    size_bytes: int | None = Field(description="Size of the finished MP4.")
    adjustments: list[Adjustment] = Field(description=ADJUSTMENTS)
    links: VideoLinks


class VideoCompletedData(VideoEventData):
    """The finished video, with its files."""

    result: VideoResult | None = Field(
        default=None, description="Signed links to its files, made when the message is sent (each retry gets "
                                  "fresh ones); absent only when the video has no published file.")


Timestamp = Annotated[datetime, Field(description="When the event happened (UTC); the same on every retry and "
                                                 "replay (the webhook-timestamp header is the attempt's).")]


class _Message(BaseModel):
    """Every message: {type, timestamp, data}, as the Standard Webhooks specification suggests."""

    model_config = ConfigDict(extra="forbid")


class VideoCompletedMessage(_Message):
    """video.completed: the video is done and its files can be downloaded."""

    type: Literal["video.completed"]
    timestamp: Timestamp
    data: VideoCompletedData


class VideoFailedMessage(_Message):
    """video.failed: the pipeline gave up; the reserved tokens are given back."""

    type: Literal["video.failed"]
    timestamp: Timestamp
    data: VideoEventData


class VideoCancelledMessage(_Message):
    """video.cancelled: the video was cancelled; the reserved tokens are given back."""

    type: Literal["video.cancelled"]
    timestamp: Timestamp
    data: VideoEventData


class VideoProgressMessage(_Message):
    """video.progress: a new phase started (one message per phase; only for endpoints that ask for it)."""

    type: Literal["video.progress"]
    timestamp: Timestamp
    data: VideoEventData


class WebhookTestData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    endpoint_id: str = Field(description="The endpoint the test was sent to.")
    message: str


class WebhookTestMessage(_Message):
    """webhook.test: sent by `POST /api/v1/webhooks/{endpoint_id}/test`, whatever the endpoint subscribed to."""

    type: Literal["webhook.test"]
    timestamp: Timestamp
    data: WebhookTestData


WebhookMessage = Annotated[
    VideoCompletedMessage | VideoFailedMessage | VideoCancelledMessage | VideoProgressMessage | WebhookTestMessage,
    Field(discriminator="type"),
]
MESSAGE_ADAPTER: TypeAdapter[WebhookMessage] = TypeAdapter(WebhookMessage)
MESSAGE_MODELS: dict[str, type[_Message]] = {
    "video.completed": VideoCompletedMessage, "video.failed": VideoFailedMessage,
    "video.cancelled": VideoCancelledMessage, "video.progress": VideoProgressMessage,
    "webhook.test": WebhookTestMessage,
}
assert set(MESSAGE_MODELS) == {*EVENT_TYPES, TEST_EVENT}


def parse_message(body: bytes | str) -> WebhookMessage:
    """A message as received, checked against its type's model (raises pydantic.ValidationError)."""
    return MESSAGE_ADAPTER.validate_json(body)


# -- examples (the OpenAPI document shows them; a test validates each) ------------------------------------

_VIDEO_ID = "3f9c2a71b04e4d58"
_FILES = f"https://api.example.com/api/v1/files/{_VIDEO_ID}"
_SIGNED = "?expires=1770732180&signature=Jq3n0cS2b9yVh1k7tLrU5w"
_VIDEO: dict[str, Any] = {
    "id": _VIDEO_ID, "status": "PROCESSING", "phase": "script", "percent": 0.0, "error": None,
    "title": "Black holes in 30 seconds", "created_at": "2026-02-10T12:00:00Z", "completed_at": None,
    "duration_s": None, "size_bytes": None, "adjustments": [],
    "links": {"self": f"/api/v1/videos/{_VIDEO_ID}", "events": f"/api/v1/videos/{_VIDEO_ID}/events"},
}
EXAMPLES: dict[str, dict[str, Any]] = {
    "video.completed": {"type": "video.completed", "timestamp": "2026-02-10T12:03:00Z", "data": {
        **_VIDEO, "status": "COMPLETED", "phase": "finalization", "percent": 100.0,
        "completed_at": "2026-02-10T12:03:00Z", "duration_s": 30.0, "size_bytes": 4718592,
        "adjustments": [{"field": "quality", "requested": "ULTRA", "served": "HD", "reason": NO_GPU_REASON}],
        "result": {
            "video_url": f"{_FILES}/video{_SIGNED}",
            "renditions": {"h264": f"{_FILES}/video_h264{_SIGNED}"},
            "captions": {"srt": f"{_FILES}/captions_srt{_SIGNED}", "vtt": f"{_FILES}/captions_vtt{_SIGNED}"},
            "thumbnails": [f"{_FILES}/thumbnail_{i}{_SIGNED}" for i in range(3)],
            "poster": f"{_FILES}/poster{_SIGNED}", "credits_url": f"{_FILES}/credits{_SIGNED}",
            "size_bytes": 4718592, "duration_s": 30.0, "urls_expire_at": "2026-02-10T13:03:00+00:00",
        },
    }},
    "video.failed": {"type": "video.failed", "timestamp": "2026-02-10T12:01:10Z", "data": {
        **_VIDEO, "status": "FAILED", "phase": "assets", "percent": 40.0,
        "error": "the voice service did not answer after 3 tries"}},
    "video.cancelled": {"type": "video.cancelled", "timestamp": "2026-02-10T12:00:40Z", "data": {
        **_VIDEO, "status": "CANCELLED", "phase": "assets", "percent": 25.0}},
    "video.progress": {"type": "video.progress", "timestamp": "2026-02-10T12:00:35Z", "data": {
        **_VIDEO, "phase": "assets", "percent": 20.0}},
    "webhook.test": {"type": "webhook.test", "timestamp": "2026-02-10T12:00:00Z", "data": {
        "endpoint_id": "ep_5d0c1f2a9b8e7d6c5b4a3f21", "message": "a test event from Nexus Video"}},
}
