"""The Kafka messages: versioned JSON values, keys that keep a video's events in order, clear read errors."""

from __future__ import annotations

import json

import pytest

from nexus_core.messages import (
    SCHEMA_VERSION,
    CancelRequest,
    DeadLetter,
    EventKind,
    GenerationRequest,
    MessageError,
    UserNotification,
    VideoEvent,
    parse,
    request_from_outbox,
)
from nexus_core.models import VideoRequest

VID = "3f9c2a71b04e4d58"
REQUEST = VideoRequest(prompt="A lighthouse in a storm at night", duration_seconds=5)


def test_a_request_round_trips_through_bytes() -> None:
    sent = GenerationRequest(video_id=VID, user_id="u1", request=REQUEST, token_cost=5, source="api")
    got = parse(GenerationRequest, sent.to_bytes())
    assert got == sent
    assert json.loads(sent.to_bytes())["schema_version"] == SCHEMA_VERSION


def test_keys_keep_a_users_requests_and_a_videos_events_together() -> None:
    assert GenerationRequest(video_id=VID, user_id="u1", request=REQUEST).key() == b"u1"
    assert GenerationRequest(video_id=VID, request=REQUEST).key() == VID.encode()  # no user: the video
    assert CancelRequest(video_id=VID).key() == VID.encode()
    assert VideoEvent(video_id=VID, kind=EventKind.PROGRESS, percent=5).key() == VID.encode()
    assert UserNotification(user_id="u1", video_id=VID, kind=EventKind.COMPLETED, message="done").key() == b"u1"


def test_a_newer_schema_version_is_refused_with_the_reason() -> None:
    value = json.dumps({"schema_version": SCHEMA_VERSION + 1, "video_id": VID}).encode()
    with pytest.raises(MessageError, match="schema_version"):
        parse(CancelRequest, value)


def test_unknown_fields_are_ignored_for_forward_compatibility() -> None:
    value = json.dumps({"video_id": VID, "added_later": True}).encode()
    assert parse(CancelRequest, value).video_id == VID


@pytest.mark.parametrize("video_id", ["../etc", "a b", "", "x" * 65])
def test_a_bad_video_id_is_a_message_error_naming_the_field(video_id: str) -> None:
    with pytest.raises(MessageError, match="video_id"):
        parse(CancelRequest, json.dumps({"video_id": video_id}).encode())


@pytest.mark.parametrize("value", [None, b"", b"not json", b"[]", b'{"kind": "progress"}'])
def test_unreadable_values_are_message_errors(value: bytes | None) -> None:
    with pytest.raises(MessageError):
        parse(VideoEvent, value)


def test_event_percent_stays_within_0_and_100() -> None:
    with pytest.raises(MessageError, match="percent"):
        parse(VideoEvent, json.dumps({"video_id": VID, "kind": "progress", "percent": 101}).encode())


def test_a_dead_letter_keeps_the_original_bytes_and_key() -> None:
    raw, key = "ünreadable".encode() + b"\xff", b"\x00k"
    letter = DeadLetter.of(topic="t", partition=2, offset=7, key=key, value=raw, reason="x" * 5000)
    again = parse(DeadLetter, letter.to_bytes())
    assert again.original_value() == raw and again.original_key() == key
    assert len(again.reason) == 2000  # cut: the reason is for people
    assert DeadLetter.of(topic="t", partition=0, offset=0, key=None, value=None, reason="empty").original_key() is None


def test_an_outbox_payload_becomes_a_request() -> None:
    payload = {"video_id": VID, "user_id": "u1", "request": REQUEST.model_dump(mode="json"), "token_cost": 5,
               "requested_at": "2026-01-01T00:00:00+00:00", "source": "api"}
    message = request_from_outbox(payload)
    assert (message.video_id, message.user_id, message.request, message.source) == (VID, "u1", REQUEST, "api")
