"""The image prompt of a scene: description, new visual elements, lighting, camera framing, style."""

from __future__ import annotations

import pytest

from nexus_core.image_prompts import CAMERA_PHRASES, NEGATIVE_PROMPT, STYLE, build_image_prompt
from nexus_core.models import CameraAngle, Scene


def scene(**fields: object) -> Scene:
    base: dict[str, object] = {"scene_number": 1, "duration_seconds": 5.0, "description": "A quiet harbour at dawn.",
                               "visual_elements": ["fishing boats", "gulls"], "lighting": "soft pink",
                               "camera_angle": CameraAngle.WIDE}
    return Scene(**(base | fields))  # type: ignore[arg-type]


def test_prompt_reads_description_elements_lighting_framing_style_in_that_order() -> None:
    assert build_image_prompt(scene()) == (
        f"A quiet harbour at dawn, fishing boats, gulls, soft pink lighting, wide establishing shot, {STYLE}"
    )


def test_elements_already_in_the_description_or_repeated_are_dropped() -> None:
    prompt = build_image_prompt(scene(visual_elements=["Harbour", "gulls", " gulls ", "lighthouse"]))
    assert prompt.startswith("A quiet harbour at dawn, gulls, lighthouse, soft pink lighting")


@pytest.mark.parametrize(("lighting", "phrase"), [("golden hour", "golden hour lighting"),
                                                  ("harsh neon light", "harsh neon light"),
                                                  ("dim starlight", "dim starlight")])
def test_lighting_gets_the_word_lighting_only_when_it_lacks_one(lighting: str, phrase: str) -> None:
    assert f", {phrase}, " in build_image_prompt(scene(lighting=lighting))


@pytest.mark.parametrize("angle", list(CameraAngle))
def test_every_camera_angle_has_a_framing_phrase(angle: CameraAngle) -> None:
    assert CAMERA_PHRASES[angle] in build_image_prompt(scene(camera_angle=angle))


def test_control_characters_and_extra_spaces_are_cleaned_and_style_can_change() -> None:
    prompt = build_image_prompt(scene(description="A  storm\u200b\n over   the sea", visual_elements=["waves\t"]),
                                style="watercolour")
    assert prompt == "A storm over the sea, waves, soft pink lighting, wide establishing shot, watercolour"


def test_negative_prompt_keeps_lettering_out() -> None:
    assert {"text", "watermark", "logo"} <= {w.strip() for w in NEGATIVE_PROMPT.split(",")}
