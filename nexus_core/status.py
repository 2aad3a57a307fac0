"""The video status rules: which status an event takes a video to, in one table (the catalog runs them).

Events: START (a phase starts), PROGRESS (progress or an asset finished), FAIL, COMPLETE, CANCEL.
- A phase starting takes QUEUED, PROCESSING or FAILED (a retry, a backfill) to PROCESSING. A COMPLETED video
  stays COMPLETED while a run re-makes part of it (its files are still served; the catalog notes the re-make).
- PROGRESS promotes QUEUED to PROCESSING and leaves the other statuses as they are.
- FAIL: QUEUED or PROCESSING → FAILED; a COMPLETED video stays COMPLETED (the re-make's error is recorded).
- COMPLETE: anything but CANCELLED → COMPLETED. CANCEL: QUEUED or PROCESSING → CANCELLED.
- CANCELLED is final: no event leaves it, and the pipeline stops on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from nexus_core.models import VideoStatus


class StatusEvent(StrEnum):
    START = "start"
    PROGRESS = "progress"
    FAIL = "fail"
    COMPLETE = "complete"
    CANCEL = "cancel"


_Q, _P, _C, _F, _X = (VideoStatus.QUEUED, VideoStatus.PROCESSING, VideoStatus.COMPLETED, VideoStatus.FAILED,
                      VideoStatus.CANCELLED)

# (status now, event) → status after. A pair that is absent is not allowed.
TRANSITIONS: Mapping[tuple[VideoStatus, StatusEvent], VideoStatus] = MappingProxyType({
    (_Q, StatusEvent.START): _P, (_P, StatusEvent.START): _P, (_F, StatusEvent.START): _P,
    (_C, StatusEvent.START): _C,  # a re-make: the video keeps its files and its status
    (_Q, StatusEvent.PROGRESS): _P, (_P, StatusEvent.PROGRESS): _P, (_F, StatusEvent.PROGRESS): _F,
    (_C, StatusEvent.PROGRESS): _C,
    (_Q, StatusEvent.FAIL): _F, (_P, StatusEvent.FAIL): _F,
    (_C, StatusEvent.FAIL): _C,  # a re-make failed: the error goes to its entry, the video stays COMPLETED
    (_Q, StatusEvent.COMPLETE): _C, (_P, StatusEvent.COMPLETE): _C, (_F, StatusEvent.COMPLETE): _C,
    (_C, StatusEvent.COMPLETE): _C,  # a re-make finished: new figures, same status
    (_Q, StatusEvent.CANCEL): _X, (_P, StatusEvent.CANCEL): _X,
})


def next_status(current: VideoStatus | str, event: StatusEvent) -> VideoStatus | None:
    """The status `event` takes a video in `current` to; None when the event is not allowed there."""
    return TRANSITIONS.get((VideoStatus(current), event))


def can_transition(old: VideoStatus | str, new: VideoStatus | str) -> bool:
    """Whether some event takes a video from `old` to `new` (staying put counts when an event allows it)."""
    old_status, new_status = VideoStatus(old), VideoStatus(new)
    return any(before is old_status and after is new_status for (before, _), after in TRANSITIONS.items())


def sources(event: StatusEvent, *, to: VideoStatus | None = None) -> tuple[str, ...]:
    """The statuses (as stored strings) from which `event` is allowed, optionally only those it takes to `to`;
    what a conditional UPDATE puts in its WHERE status IN (...)."""
    return tuple(
        before.value for before in VideoStatus
        if (after := TRANSITIONS.get((before, event))) is not None and (to is None or after is to)
    )
