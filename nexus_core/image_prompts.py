"""The text-to-image prompt of a scene: what is seen, how it is lit and how it is framed."""

from __future__ import annotations

import re
from typing import Final

from nexus_core.models import CameraAngle, Scene, strip_control_characters

CAMERA_PHRASES: Final[dict[CameraAngle, str]] = {
    CameraAngle.WIDE: "wide establishing shot",
    CameraAngle.MEDIUM: "medium shot",
    CameraAngle.CLOSE_UP: "close-up shot, fine detail",
    CameraAngle.AERIAL: "aerial view from high above",
    CameraAngle.LOW_ANGLE: "low-angle shot looking up",
    CameraAngle.TRACKING: "tracking shot, sense of motion",
}
STYLE: Final = "cinematic film still, highly detailed, sharp focus"
# What a narrated video's background must not show: stray lettering fights the subtitles.
NEGATIVE_PROMPT: Final = (
    "text, letters, watermark, logo, caption, signature, frame, border, blurry, low quality, jpeg artifacts, "
    "deformed, disfigured, extra limbs, cropped"
)
_SPACES = re.compile(r"\s+")


def _clean(text: str) -> str:
    return _SPACES.sub(" ", strip_control_characters(text)).strip(" ,.;")


def _lighting_phrase(lighting: str) -> str:
    text = _clean(lighting)
    return text if "light" in text.lower() else f"{text} lighting"


def build_image_prompt(scene: Scene, *, style: str = STYLE) -> str:
    """Description first (CLIP reads 77 tokens), then elements not already named, lighting, framing, style."""
    description = _clean(scene.description)
    seen = description.lower()
    elements: list[str] = []
    for raw in scene.visual_elements:
        element = _clean(raw)
        if element and element.lower() not in seen:
            elements.append(element)
            seen += f" {element.lower()}"
    parts = [description, *elements, _lighting_phrase(scene.lighting), CAMERA_PHRASES[scene.camera_angle], style]
    return ", ".join(p for p in parts if p)
