"""The video's frame timeline: where each scene starts, how long it lasts, when its voice begins."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

VOICE_LEAD_S = 0.35  # silence at the head of a scene, under the crossfade, before its voice starts
TRANSITION_S = 0.5  # crossfade from the previous scene, baked into the head of the next clip


@dataclass(frozen=True)
class SceneSlot:
    """One scene's place on the timeline, in whole frames."""

    scene_number: int
    start_frame: int
    frame_count: int
    fps: int

    @property
    def end_frame(self) -> int:
        return self.start_frame + self.frame_count

    @property
    def start_s(self) -> float:
        return self.start_frame / self.fps

    @property
    def duration_s(self) -> float:
        return self.frame_count / self.fps

    @property
    def voice_start_s(self) -> float:
        return self.start_s + VOICE_LEAD_S

    @property
    def transition_frames(self) -> int:
        """Crossfade length into this scene (at most a third of it); the first scene uses 0 instead."""
        return min(round(TRANSITION_S * self.fps), self.frame_count // 3)

    def transition_frames_for(self, index: int) -> int:
        """Crossfade length for the scene at `index` in the video: none for the first one."""
        return self.transition_frames if index > 0 else 0


def plan_timeline(durations: Sequence[float], fps: int) -> list[SceneSlot]:
    """Contiguous slots whose frames sum to round(sum(durations) * fps) (cumulative rounding).

    Raises:
        ValueError: on a non-positive fps or duration, or a scene too short to get one frame.
    """
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    slots: list[SceneSlot] = []
    start = 0
    for number, duration in enumerate(durations, start=1):
        if not duration > 0:
            raise ValueError(f"scene {number} has a non-positive duration {duration}")
        end = round(math.fsum(durations[:number]) * fps)
        if end <= start:
            raise ValueError(f"scene {number} ({duration} s) is shorter than one frame at {fps} fps")
        slots.append(SceneSlot(scene_number=number, start_frame=start, frame_count=end - start, fps=fps))
        start = end
    return slots


def total_frames(slots: Sequence[SceneSlot]) -> int:
    """Frames in the whole video."""
    return slots[-1].end_frame if slots else 0
