"""Thumbnails and the poster: clean frames (no burned captions) at the video's own resolution.

A thumbnail is the frame the video shows at its moment, rebuilt from the scene's still and camera move
(so it is exactly what plays, minus the caption); the three moments fall in three different scenes when
the video has them, so they never repeat. The poster is a title card over the most telling scene.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from nexus_core.media.fonts import FontFace, load_font
from nexus_core.media.motion import camera_transform
from nexus_core.media.timeline import SceneSlot
from nexus_core.models import CameraAngle

WANTED_S: tuple[float, ...] = (0.0, 10.0, 20.0)
SPREAD_PROGRESS = (0.5, 0.2, 0.85)  # inside one scene, when a video has fewer scenes than thumbnails
TITLE_SCALE = 0.1  # poster title size as a share of the frame's short side
TITLE_MAX_LINES = 3


@dataclass(frozen=True)
class Moment:
    """A thumbnail's place: the scene (0-based index), how far into its camera move, and the video time."""

    scene_index: int
    progress: float
    at_s: float


def _moment_at(slots: Sequence[SceneSlot], at_s: float) -> Moment:
    for index, slot in enumerate(slots):
        if at_s < slot.start_s + slot.duration_s or index == len(slots) - 1:
            progress = min(1.0, max(0.0, (at_s - slot.start_s) / max(slot.duration_s, 1e-6)))
            return Moment(index, progress, at_s)
    raise ValueError("no scenes")


def _middle_of(slots: Sequence[SceneSlot], index: int, progress: float = 0.5) -> Moment:
    slot = slots[index]
    return Moment(index, progress, round(slot.start_s + slot.duration_s * progress, 3))


def thumbnail_moments(slots: Sequence[SceneSlot], wanted: Sequence[float] = WANTED_S) -> list[Moment]:
    """One moment per wanted time, each in a different scene when there are enough scenes.

    The wanted times are kept when the video is long enough for them to land in different scenes; a
    moment that would repeat a scene moves to the middle of the next scene not shown yet; a video with
    fewer scenes than thumbnails spreads them over its scenes' camera moves.
    """
    if not slots:
        raise ValueError("a video without scenes has no thumbnails")
    count = len(wanted)
    if len(slots) < count:
        return [_middle_of(slots, i % len(slots), SPREAD_PROGRESS[i // len(slots) % 3]) for i in range(count)]
    total = slots[-1].start_s + slots[-1].duration_s
    moments: list[Moment] = []
    used: set[int] = set()
    for index, at_s in enumerate(wanted):
        moment = _moment_at(slots, min(at_s, total - 0.25))
        if index == 0 and at_s <= 0:
            moment = _middle_of(slots, 0, 0.35)  # the opening frame, once the camera has begun to move
        if moment.scene_index in used:
            spare = [i for i in range(len(slots)) if i not in used and i > max(used)] or [
                i for i in range(len(slots)) if i not in used
            ]
            moment = _middle_of(slots, spare[0])
        used.add(moment.scene_index)
        moments.append(moment)
    return moments


def clean_frame(still: np.ndarray, angle: CameraAngle, progress: float, seed: int) -> np.ndarray:
    """The frame a scene shows at `progress` of its camera move, without captions (RGB, the still's size)."""
    height, width = still.shape[:2]
    matrix = camera_transform(angle, progress, (width, height), seed)
    return cv2.warpAffine(still, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def _wrap(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
          max_width: float) -> list[str]:
    words = text.split()
    if len(words) <= 1 and draw.textlength(text, font=font) > max_width:  # no spaces (CJK): by characters
        words = list(text)
        joiner = ""
    else:
        joiner = " "
    lines: list[str] = []
    for word in words:
        candidate = f"{lines[-1]}{joiner}{word}" if lines else word
        if lines and draw.textlength(candidate, font=font) <= max_width:
            lines[-1] = candidate
        else:
            lines.append(word)
    return lines


def poster_frame(still: np.ndarray, title: str, face: FontFace | None) -> np.ndarray:
    """A title card: the scene's frame, darkened towards the bottom, with the title large in the lower third."""
    height, width = still.shape[:2]
    ramp = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    shade = 1.0 - 0.6 * np.clip((ramp - 0.35) / 0.65, 0.0, 1.0)
    frame = (still.astype(np.float32) * shade).astype(np.uint8)
    image = Image.fromarray(frame)
    draw = ImageDraw.Draw(image)
    size = max(12, round(min(width, height) * TITLE_SCALE))
    margin = round(width * 0.07)
    font = load_font(face, size)
    lines = _wrap(draw, title, font, width - 2 * margin)
    while len(lines) > TITLE_MAX_LINES and size > 12:
        size = round(size * 0.85)
        font = load_font(face, size)
        lines = _wrap(draw, title, font, width - 2 * margin)
    step = round(size * 1.2)
    y = height - round(height * 0.1) - step * len(lines)
    stroke = max(1, size // 14)
    for line in lines:
        draw.text((margin, y), line, font=font, fill=(255, 255, 255), stroke_width=stroke, stroke_fill=(0, 0, 0))
        y += step
    return np.asarray(image)
