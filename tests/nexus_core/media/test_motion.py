"""Camera motion: the right move per angle, smooth, sub-pixel, and never outside the still."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from nexus_core.media.motion import END_SPEED, camera_transform, ease, frame_progress, visible_window
from nexus_core.models import CameraAngle

SIZES = [(1920, 1080), (640, 360), (1080, 1920), (720, 720)]


def _path(angle: CameraAngle, size: tuple[int, int], *, seed: int = 3, frames: int = 150, extra: int = 0):
    return [camera_transform(angle, frame_progress(i, frames), size, seed) for i in range(frames + extra)]


def _centre(matrix: np.ndarray, size: tuple[int, int]) -> tuple[float, float]:
    left, top, right, bottom = visible_window(matrix, size)
    return (left + right) / 2, (top + bottom) / 2


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("angle", list(CameraAngle))
def test_the_window_never_leaves_the_still_even_past_the_end(
    angle: CameraAngle, size: tuple[int, int]
) -> None:
    width, height = size
    for seed in (0, 1, 2, 12345):
        for matrix in _path(angle, size, seed=seed, frames=60, extra=40):
            left, top, right, bottom = visible_window(matrix, size)
            assert left >= -1e-6 and top >= -1e-6
            assert right <= width - 1 + 1e-6 and bottom <= height - 1 + 1e-6
            assert matrix[0, 0] == matrix[1, 1] >= 1.0
            assert matrix[0, 1] == matrix[1, 0] == 0.0


@pytest.mark.parametrize("angle", [CameraAngle.MEDIUM, CameraAngle.TRACKING, CameraAngle.LOW_ANGLE,
                                   CameraAngle.AERIAL])
def test_moving_shots_are_cropped_at_least_six_percent(angle: CameraAngle) -> None:
    assert all(m[0, 0] >= 1.06 for m in _path(angle, (1920, 1080)))


def test_each_angle_moves_the_right_way() -> None:
    size = (1920, 1080)

    def zoom(angle: CameraAngle) -> tuple[float, float]:
        first, last = camera_transform(angle, 0.0, size, 1), camera_transform(angle, 1.0, size, 1)
        return first[0, 0], last[0, 0]

    def centre(angle: CameraAngle) -> tuple[tuple[float, float], tuple[float, float]]:
        return (_centre(camera_transform(angle, 0.0, size, 1), size),
                _centre(camera_transform(angle, 1.0, size, 1), size))

    start, end = zoom(CameraAngle.WIDE)
    assert end > start * 1.08  # slow zoom in
    start, end = zoom(CameraAngle.CLOSE_UP)
    assert end < start / 1.08  # slow zoom out
    (x0, y0), (x1, y1) = centre(CameraAngle.MEDIUM)
    assert x1 - x0 > 50 and abs(y1 - y0) < 1  # pan left to right
    (x0, y0), (x1, y1) = centre(CameraAngle.TRACKING)
    assert x0 - x1 > 50 and abs(y1 - y0) < 1  # pan right to left
    (x0, y0), (x1, y1) = centre(CameraAngle.LOW_ANGLE)
    assert y0 - y1 > 40 and abs(x1 - x0) < 1  # tilt up
    (x0, y0), (x1, y1) = centre(CameraAngle.AERIAL)
    assert abs(x1 - x0) > 40 and abs(y1 - y0) > 20  # diagonal drift
    start, end = zoom(CameraAngle.AERIAL)
    assert end > start  # with a slight zoom


@pytest.mark.parametrize("angle", list(CameraAngle))
def test_motion_is_smooth_and_sub_pixel(angle: CameraAngle) -> None:
    size = (1920, 1080)
    path = _path(angle, size, frames=300, extra=30)
    corners = np.array([[visible_window(m, size)[i] for i in range(4)] for m in path])
    velocity = np.diff(corners, axis=0)
    acceleration = np.diff(velocity, axis=0)
    assert np.abs(velocity).max() < 1.5  # a slow move: under 1.5 source pixels a frame for a 10 s shot
    assert np.abs(acceleration).max() < 0.02  # no jumps or stops: the speed changes by tiny steps
    moving = np.abs(velocity).max(axis=1) > 0
    assert moving.all(), "the camera never stops, not even past the end of the shot"


def test_ease_starts_and_ends_gently_and_continues_past_one() -> None:
    assert ease(0.0) == 0.0 and ease(1.0) == 1.0
    assert ease(0.5) == pytest.approx(0.5)
    eps = 1e-6
    assert (ease(eps) - ease(0.0)) / eps == pytest.approx(END_SPEED, rel=1e-3)
    assert (ease(1.0) - ease(1.0 - eps)) / eps == pytest.approx(END_SPEED, rel=1e-3)
    assert (ease(1.0 + eps) - ease(1.0)) / eps == pytest.approx(END_SPEED, rel=1e-3)
    assert (ease(0.5 + eps) - ease(0.5)) / eps > 1.0
    values = [ease(p) for p in np.linspace(0, 1.5, 200)]
    assert all(b > a for a, b in itertools.pairwise(values))


def test_frame_progress_runs_from_zero_to_one_and_beyond() -> None:
    assert frame_progress(0, 100) == 0.0
    assert frame_progress(99, 100) == 1.0
    assert frame_progress(110, 100) > 1.0
    assert frame_progress(0, 1) == 0.0


def test_transform_is_pure_and_seeded() -> None:
    a = camera_transform(CameraAngle.AERIAL, 0.3, (640, 360), 7)
    assert np.array_equal(a, camera_transform(CameraAngle.AERIAL, 0.3, (640, 360), 7))
    others = [camera_transform(CameraAngle.AERIAL, 0.3, (640, 360), s) for s in range(8, 16)]
    assert any(not np.allclose(a, b) for b in others)
    assert a.shape == (2, 3) and a.dtype == np.float64
