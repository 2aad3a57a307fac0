"""Versioned messages on the Kafka topics: requests, events, cancels, notifications and dead letters.

Every message carries `schema_version`; a reader accepts versions up to its own and rejects newer ones,
so a producer upgraded first never has its messages misread. Values are UTF-8 JSON; keys are given by
`key()` (the user id for requests and notifications, the video id for events and cancels, so each
video's events stay in order on one partition).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from nexus_core.clock import utcnow
from nexus_core.models import VideoRequest
from nexus_core.service_level import Adjustment
from nexus_core.storage_keys import check_video_id

SCHEMA_VERSION = 1

VideoId = Annotated[str, Field(min_length=1, max_length=64)]



class MessageError(ValueError):
    """A message could not be read; the reason goes to the dead-letter topic."""


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    schema_version: int = SCHEMA_VERSION

    @field_validator("schema_version")
    @classmethod
    def _known_version(cls, value: int) -> int:
        if not 1 <= value <= SCHEMA_VERSION:
            raise ValueError(f"schema_version {value} is not supported (this reader knows 1..{SCHEMA_VERSION})")
        return value

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()


class _VideoMessage(_Message):
    video_id: VideoId

    @field_validator("video_id")
    @classmethod
    def _valid_id(cls, value: str) -> str:
        return check_video_id(value)


class GenerationRequest(_VideoMessage):
    """`video.generation.requests`: make this video (key = user id)."""

    user_id: str | None = None
    request: VideoRequest
    token_cost: int | None = None
    source: str | None = Field(default=None, max_length=32, description="Who sent it: 'api' from the REST API.")
    requested_at: datetime = Field(default_factory=utcnow)

    def key(self) -> bytes:
        return (self.user_id or self.video_id).encode()


class CancelRequest(_VideoMessage):
    """`video.generation.cancel`: stop this video (key = video id)."""

    requested_at: datetime = Field(default_factory=utcnow)
    reason: str | None = None

    def key(self) -> bytes:
        return self.video_id.encode()


class EventKind(StrEnum):
    PHASE_STARTED = "phase_started"
    PROGRESS = "progress"
    PHASE_COMPLETED = "phase_completed"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class VideoEvent(_VideoMessage):
    """`video.generation.events`: where a video is (key = video id)."""

    kind: EventKind
    phase: str | None = None
    percent: float | None = Field(default=None, ge=0, le=100)
    at: datetime = Field(default_factory=utcnow)
    run_id: str | None = None
    error: str | None = None
    urls: dict[str, str] = Field(default_factory=dict, description="Final artifacts (completed only).")
    adjustments: list[Adjustment] = Field(
        default_factory=list, description="Completed only: request fields served differently from what was asked "
                                          "(a preview; ULTRA served and charged as HD without a GPU pool).")

    def key(self) -> bytes:
        return self.video_id.encode()


class UserNotification(_Message):
    """`user.notifications`: something to tell a user about their video (key = user id)."""

    user_id: str
    video_id: VideoId
    kind: EventKind
    message: str
    at: datetime = Field(default_factory=utcnow)

    def key(self) -> bytes:
        return self.user_id.encode()


class DeadLetter(_Message):
    """A message that could not be read, with where it came from and why."""

    topic: str
    partition: int
    offset: int
    key: str | None = Field(default=None, description="The original key, hex.")
    value: str = Field(description="The original bytes, hex.")
    reason: str
    at: datetime = Field(default_factory=utcnow)

    @classmethod
    def of(cls, *, topic: str, partition: int, offset: int, key: bytes | None, value: bytes | None,
           reason: str) -> DeadLetter:
        return cls(topic=topic, partition=partition, offset=offset, key=key.hex() if key is not None else None,
                   value=(value or b"").hex(), reason=reason[:2000])

    def original_value(self) -> bytes:
        return bytes.fromhex(self.value)

    def original_key(self) -> bytes | None:
        """The key the message had: the dead-letter record is published under it, byte for byte."""
        return bytes.fromhex(self.key) if self.key is not None else None


M = TypeVar("M", bound=_Message)


def parse(model: type[M], value: bytes | None) -> M:
    """Read one message value; raises MessageError with a short reason."""
    if not value:
        raise MessageError("empty message")
    try:
        return model.model_validate_json(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "message"
        raise MessageError(f"invalid {model.__name__}: {where}: {first.get('msg')}") from exc



def request_from_outbox(payload: dict[str, Any]) -> GenerationRequest:
    """The request message for an outbox row's payload (video_id, user_id, request, token_cost, requested_at)."""
    return GenerationRequest.model_validate(payload)
