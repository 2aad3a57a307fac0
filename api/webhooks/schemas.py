"""What the /webhooks routes take and answer."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.webhooks.store import DEFAULT_EVENTS
from api.webhooks.urls import MAX_URL_CHARS, syntax_error

EventType = Literal["video.completed", "video.failed", "video.cancelled", "video.progress"]
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"


def check_url_syntax(value: str) -> str:
    error = syntax_error(value)
    if error:
        raise ValueError(f"the URL {error}")
    return value


WebhookUrl = Annotated[str, Field(min_length=8, max_length=MAX_URL_CHARS, pattern=r"^https?://",
                                  description="Where to POST the events: http(s), a public address in production.",
                                  examples=["https://example.com/hooks/nexus"])]


def _default_events() -> list[EventType]:
    return ["video.completed", "video.failed", "video.cancelled"]


assert tuple(_default_events()) == DEFAULT_EVENTS


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: WebhookUrl
    events: Annotated[list[EventType], Field(
        min_length=1, max_length=4,
        description="What to send; video.progress (one event per phase) only when asked for.",
    )] = Field(default_factory=lambda: _default_events())
    description: Annotated[str | None, Field(max_length=200, pattern=PRINTABLE)] = None

    _url = field_validator("url")(check_url_syntax)

    @field_validator("events")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))


class WebhookOut(BaseModel):
    id: str
    url: str
    events: list[str]
    description: str | None
    video_id: str | None = Field(description="Set for a request's callback_url: only that video's events.")
    created_at: datetime
    previous_secret_expires_at: datetime | None = Field(
        description="After a rotation: until then every message carries a second signature, by the old secret.")


class WebhookCreated(WebhookOut):
    secret: str = Field(description="whsec_...: shown once. Verify each message with it (any Standard Webhooks "
                                    "library).")


class SecretRotated(BaseModel):
    id: str
    secret: str = Field(description="The new whsec_... secret, shown once.")
    previous_secret_expires_at: datetime | None = Field(
        description="Until then messages are signed with both secrets (two v1 signatures).")


class AttemptOut(BaseModel):
    attempt: int
    status_code: int | None = Field(description="The receiver's HTTP status; null when it did not answer.")
    error: str | None = Field(description="Why the attempt failed (timeout, refused address, HTTP 500...).")
    duration_ms: int
    at: datetime


class DeliveryOut(BaseModel):
    id: str = Field(description="The webhook-id header: the same on every retry and replay.")
    event_type: str
    video_id: str | None
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    next_attempt_at: datetime | None = Field(description="When it is tried again (pending only).")
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    attempt_log: list[AttemptOut]


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
