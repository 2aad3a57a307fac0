"""The video status table (nexus_core/status.py): every allowed and refused change, named."""

from __future__ import annotations

import pytest

from nexus_core.models import VideoStatus
from nexus_core.status import TRANSITIONS, StatusEvent, can_transition, next_status, sources

Q, P, C, F, X = (VideoStatus.QUEUED, VideoStatus.PROCESSING, VideoStatus.COMPLETED, VideoStatus.FAILED,
                 VideoStatus.CANCELLED)


@pytest.mark.parametrize(("current", "after"), [(Q, P), (P, P), (F, P), (C, C), (X, None)])
def test_a_phase_start_processes_retries_failed_and_keeps_a_completed_video_completed(current, after) -> None:
    assert next_status(current, StatusEvent.START) is after


@pytest.mark.parametrize(("current", "after"), [(Q, P), (P, P), (F, F), (C, C), (X, None)])
def test_progress_only_promotes_queued(current, after) -> None:
    assert next_status(current, StatusEvent.PROGRESS) is after


@pytest.mark.parametrize(("current", "after"), [(Q, F), (P, F), (C, C), (F, None), (X, None)])
def test_a_failure_fails_unfinished_videos_and_leaves_a_remade_video_completed(current, after) -> None:
    assert next_status(current, StatusEvent.FAIL) is after


@pytest.mark.parametrize(("current", "after"), [(Q, C), (P, C), (F, C), (C, C), (X, None)])
def test_completion_is_refused_only_on_a_cancelled_video(current, after) -> None:
    assert next_status(current, StatusEvent.COMPLETE) is after


@pytest.mark.parametrize(("current", "after"), [(Q, X), (P, X), (F, None), (C, None), (X, None)])
def test_only_queued_or_processing_videos_can_be_cancelled(current, after) -> None:
    assert next_status(current, StatusEvent.CANCEL) is after


def test_cancelled_is_final() -> None:
    assert all(before is not X for before, _ in TRANSITIONS)
    assert not any(can_transition(X, status) for status in VideoStatus)


def test_no_event_takes_a_video_back_to_queued() -> None:
    assert not any(can_transition(status, Q) for status in VideoStatus)


def test_can_transition_reads_the_table() -> None:
    assert can_transition(Q, P) and can_transition(P, F) and can_transition(F, C)
    assert can_transition(C, C)  # a re-make keeps the video COMPLETED
    assert not can_transition(C, P) and not can_transition(C, F) and not can_transition(F, X)
    assert can_transition("QUEUED", "CANCELLED")  # stored strings work as well as the enum


def test_sources_are_what_a_conditional_update_matches() -> None:
    assert sources(StatusEvent.CANCEL) == ("QUEUED", "PROCESSING")
    assert sources(StatusEvent.FAIL, to=F) == ("QUEUED", "PROCESSING")
    assert sources(StatusEvent.FAIL) == ("QUEUED", "PROCESSING", "COMPLETED")
    assert "CANCELLED" not in sources(StatusEvent.COMPLETE)


def test_an_unknown_status_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="DONE"):
        next_status("DONE", StatusEvent.START)
