"""Camera motion over a still: a slow zoom, pan, tilt or drift chosen from the scene's camera angle."""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from nexus_core.models import CameraAngle

END_SPEED = 0.35  # speed at both ends, relative to a linear move: eased, yet still moving under a crossfade
MIN_ZOOM = 1.0
MAX_ZOOM = 1.5
# Crops for the moves that do not zoom: ~10%, leaving ~4.5% of the frame on each side to travel. Not simple
# fractions on purpose: the compositor's fast zoom path reaches every sub-pixel offset at such scales.
PAN_ZOOM = 1.1047
TILT_ZOOM = 1.1213


@dataclass(frozen=True)
class CameraMove:
    """A shot's path: zoom factors and window centres, each centre in [-1, 1] of the free margin per axis."""

    zoom_from: float
    zoom_to: float
    centre_from: tuple[float, float]
    centre_to: tuple[float, float]


@lru_cache(maxsize=256)
def camera_move(angle: CameraAngle, seed: int) -> CameraMove:
    """The move for a camera angle; the seed varies its amplitude, anchor and drift direction a little."""
    rng = random.Random(seed)
    amount = rng.uniform(0.9, 1.1)
    anchor = (rng.uniform(-0.3, 0.3), rng.uniform(-0.3, 0.3))
    travel = 0.75 * amount
    if angle is CameraAngle.WIDE:
        return CameraMove(1.06, 1.06 + 0.12 * amount, anchor, anchor)
    if angle is CameraAngle.CLOSE_UP:
        return CameraMove(1.06 + 0.12 * amount, 1.06, anchor, anchor)
    if angle is CameraAngle.MEDIUM:
        return CameraMove(PAN_ZOOM, PAN_ZOOM, (-travel, anchor[1]), (travel, anchor[1]))
    if angle is CameraAngle.TRACKING:
        return CameraMove(PAN_ZOOM, PAN_ZOOM, (travel, anchor[1]), (-travel, anchor[1]))
    if angle is CameraAngle.AERIAL:
        dx, dy = rng.choice((-1.0, 1.0)), rng.choice((-1.0, 1.0))
        start, end = (-dx * travel, -dy * travel), (dx * travel, dy * travel)
        return CameraMove(1.08, 1.08 + 0.06 * amount, start, end)
    if angle is CameraAngle.LOW_ANGLE:
        return CameraMove(TILT_ZOOM, TILT_ZOOM, (anchor[0], travel), (anchor[0], -travel))
    raise ValueError(f"no camera move for {angle!r}")


def ease(progress: float) -> float:
    """Ease-in-out over [0, 1] that starts and ends at END_SPEED, continuing linearly past either end."""
    if progress <= 0.0:
        return END_SPEED * progress
    if progress >= 1.0:
        return 1.0 + END_SPEED * (progress - 1.0)
    smooth = progress * progress * (3.0 - 2.0 * progress)
    return END_SPEED * progress + (1.0 - END_SPEED) * smooth


def frame_progress(index: int, frame_count: int) -> float:
    """Progress of frame `index` in a shot of `frame_count` frames: 0 at the first, 1 at the last."""
    return index / max(1, frame_count - 1)


def camera_transform(angle: CameraAngle, progress: float, size: tuple[int, int], seed: int) -> np.ndarray:
    """The 2x3 affine matrix (source pixel -> output pixel, cv2.warpAffine's forward map) at `progress`.

    The still is already at output `size` (width, height); the window it shows never leaves the image.
    """
    width, height = size
    move = camera_move(angle, seed)
    t = ease(progress)
    zoom = move.zoom_from * (move.zoom_to / move.zoom_from) ** t
    zoom = min(MAX_ZOOM, max(MIN_ZOOM, zoom))
    half_w, half_h = (width - 1) / 2.0, (height - 1) / 2.0
    ux = _clamp_unit(move.centre_from[0] + (move.centre_to[0] - move.centre_from[0]) * t)
    uy = _clamp_unit(move.centre_from[1] + (move.centre_to[1] - move.centre_from[1]) * t)
    margin = 1.0 - 1.0 / zoom
    cx = half_w + ux * half_w * margin
    cy = half_h + uy * half_h * margin
    return np.array([[zoom, 0.0, half_w - zoom * cx], [0.0, zoom, half_h - zoom * cy]], dtype=np.float64)


def _clamp_unit(value: float) -> float:
    return min(1.0, max(-1.0, value))


def visible_window(matrix: np.ndarray, size: tuple[int, int]) -> tuple[float, float, float, float]:
    """(left, top, right, bottom) of the source region an output frame shows, in source pixels."""
    width, height = size
    inverse = np.linalg.inv(np.vstack([matrix, [0.0, 0.0, 1.0]]))
    xs, ys = [0.0, width - 1.0, 0.0, width - 1.0], [0.0, 0.0, height - 1.0, height - 1.0]
    corners = inverse @ np.array([xs, ys, [1.0] * 4])
    left, top = float(corners[0].min()), float(corners[1].min())
    return left, top, float(corners[0].max()), float(corners[1].max())
