"""Thumbnails: three moments in three scenes, clean frames at full size, and a poster with the title."""

from __future__ import annotations

import numpy as np
import pytest

from nexus_core.media.fonts import find_font_for
from nexus_core.media.thumbnails import clean_frame, poster_frame, thumbnail_moments
from nexus_core.media.timeline import plan_timeline
from nexus_core.models import CameraAngle, Language


def test_a_long_video_keeps_the_seed_times_in_different_scenes() -> None:
    moments = thumbnail_moments(plan_timeline([6.0, 6.0, 6.0, 6.0, 6.0], 30))
    assert [m.scene_index for m in moments] == [0, 1, 3]
    assert [round(m.at_s, 1) for m in moments][1:] == [10.0, 20.0]


@pytest.mark.parametrize("durations", [[4.0, 3.0, 3.0], [2.5, 2.5, 2.5, 2.5], [5.0, 5.0]])
def test_a_short_video_spreads_its_thumbnails_over_distinct_moments(durations: list[float]) -> None:
    moments = thumbnail_moments(plan_timeline(durations, 25))
    assert len(moments) == 3
    places = {(m.scene_index, round(m.progress, 2)) for m in moments}
    assert len(places) == 3
    if len(durations) >= 3:
        assert len({m.scene_index for m in moments}) == 3
    assert all(0 <= m.at_s < sum(durations) for m in moments)


def test_clean_frames_move_with_the_camera_and_keep_the_size() -> None:
    rng = np.random.default_rng(1)
    still = (rng.random((180, 320, 3)) * 255).astype(np.uint8)
    start = clean_frame(still, CameraAngle.MEDIUM, 0.0, seed=3)
    end = clean_frame(still, CameraAngle.MEDIUM, 1.0, seed=3)
    assert start.shape == still.shape
    assert np.abs(start.astype(int) - end.astype(int)).mean() > 20


def test_the_poster_carries_the_title_in_its_lower_third() -> None:
    still = np.full((360, 640, 3), 90, np.uint8)
    poster = poster_frame(still, "How honeybees communicate with the waggle dance", find_font_for(Language.EN))
    assert poster.shape == still.shape
    top, bottom = poster[:120], poster[240:]
    assert (bottom > 240).all(axis=2).sum() > 500  # white title pixels
    assert not (top > 240).all(axis=2).any()
