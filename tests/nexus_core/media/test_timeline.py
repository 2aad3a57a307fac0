"""The frame timeline: contiguous slots whose frames add up to the requested length."""

from __future__ import annotations

import itertools
import math

import pytest

from nexus_core.media.timeline import TRANSITION_S, VOICE_LEAD_S, SceneSlot, plan_timeline, total_frames


@pytest.mark.parametrize("fps", [24, 25, 30, 60])
@pytest.mark.parametrize(
    "durations",
    [[10.0], [3.33, 3.33, 3.34], [0.1, 0.2, 0.3, 0.4], [7.5, 2.25, 12.125, 8.125], [5.0] * 120, [2.7] * 7],
)
def test_slots_are_contiguous_and_sum_to_the_requested_length(durations: list[float], fps: int) -> None:
    slots = plan_timeline(durations, fps)
    assert [s.scene_number for s in slots] == list(range(1, len(durations) + 1))
    assert slots[0].start_frame == 0
    for before, after in itertools.pairwise(slots):
        assert after.start_frame == before.start_frame + before.frame_count
    assert total_frames(slots) == sum(s.frame_count for s in slots) == round(math.fsum(durations) * fps)
    for slot, duration in zip(slots, durations, strict=True):
        assert abs(slot.duration_s - duration) <= 1 / fps + 1e-9


def test_cumulative_rounding_never_drifts_more_than_half_a_frame() -> None:
    durations = [1.01] * 50
    slots = plan_timeline(durations, 30)
    for index, slot in enumerate(slots):
        assert abs(slot.end_frame / 30 - 1.01 * (index + 1)) <= 0.5 / 30 + 1e-9


def test_slot_times_and_voice_start() -> None:
    slots = plan_timeline([4.0, 6.0], 25)
    assert slots[1].start_frame == 100 and slots[1].start_s == 4.0
    assert slots[1].duration_s == 6.0
    assert slots[1].voice_start_s == pytest.approx(4.0 + VOICE_LEAD_S)
    assert slots[0].voice_start_s == pytest.approx(VOICE_LEAD_S)


def test_transition_is_half_a_second_but_at_most_a_third_of_the_scene() -> None:
    assert SceneSlot(2, 0, 300, 30).transition_frames == round(TRANSITION_S * 30) == 15
    assert SceneSlot(2, 0, 300, 24).transition_frames == 12
    assert SceneSlot(2, 0, 30, 30).transition_frames == 10
    assert SceneSlot(2, 0, 2, 30).transition_frames == 0


def test_first_scene_has_no_transition() -> None:
    first, second = plan_timeline([5.0, 5.0], 30)
    assert first.transition_frames_for(0) == 0
    assert second.transition_frames_for(1) == 15


@pytest.mark.parametrize("durations", [[0.0], [-1.0], [5.0, 0.0], [0.001]])
def test_rejects_empty_or_sub_frame_scenes(durations: list[float]) -> None:
    with pytest.raises(ValueError):
        plan_timeline(durations, 30)


def test_rejects_bad_fps() -> None:
    with pytest.raises(ValueError):
        plan_timeline([1.0], 0)
