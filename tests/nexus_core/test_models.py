"""The request model: defaults, cleaning, sizes, and errors that name the field and allowed values."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from nexus_core.models import (
    Aspect,
    Resolution,
    Scenario,
    Scene,
    VideoRequest,
    describe_validation_error,
    frame_size,
)


def test_defaults_are_sane() -> None:
    request = VideoRequest(prompt="black holes")
    assert (request.duration_seconds, request.quality.value, request.resolution.value) == (30, "HD", "720p")
    assert request.size == (1280, 720)


@pytest.mark.parametrize(
    ("resolution", "aspect", "size"),
    [
        ("360p", "16:9", (640, 360)),
        ("480p", "16:9", (854, 480)),
        ("1080p", "9:16", (1080, 1920)),
        ("2160p", "16:9", (3840, 2160)),
        ("720p", "1:1", (720, 720)),
    ],
)
def test_resolution_is_the_short_side_for_every_aspect(resolution: str, aspect: str, size: tuple[int, int]) -> None:
    assert frame_size(Resolution(resolution), Aspect(aspect)) == size
    assert all(v % 2 == 0 for v in size)


def test_prompt_control_characters_are_stripped() -> None:
    assert VideoRequest(prompt="  a\x00b\x1b[31m c\u200b ").prompt == "ab[31m c"


@pytest.mark.parametrize("prompt", ["", "   ", "\x00\x01", "x" * 2001])
def test_bad_prompts_are_refused(prompt: str) -> None:
    with pytest.raises(ValidationError) as exc:
        VideoRequest(prompt=prompt)
    assert describe_validation_error(exc.value)[0][0] == "prompt"


@pytest.mark.parametrize(
    ("field", "value", "allowed"),
    [
        ("quality", "SUPER", "ULTRA"),
        ("resolution", "1440p", "2160p"),
        ("aspect", "4:3", "9:16"),
        ("frame_rate", 29, "60"),
        ("music_style", "jazz", "cinematic"),
        ("language", "xx", "fr"),
    ],
)
def test_bad_enum_values_name_field_and_allowed_values(field: str, value: object, allowed: str) -> None:
    with pytest.raises(ValidationError) as exc:
        VideoRequest(prompt="ok", **{field: value})
    ((name, message),) = describe_validation_error(exc.value)
    assert name == field and allowed in message


@pytest.mark.parametrize("duration", [4, 601, -1])
def test_duration_bounds(duration: int) -> None:
    with pytest.raises(ValidationError):
        VideoRequest(prompt="ok", duration_seconds=duration)


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ValidationError):
        VideoRequest(prompt="ok", colour="red")  # type: ignore[call-arg]


def test_scenario_scene_numbers_must_run_in_order() -> None:
    scene = {"duration_seconds": 5, "description": "d", "visual_elements": ["x"]}
    with pytest.raises(ValidationError):
        Scenario(title="t", scenes=[Scene(scene_number=2, **scene)])
    assert Scenario(title="t", scenes=[Scene(scene_number=1, **scene)]).duration_seconds == 5


def test_seed_is_stable_and_salted() -> None:
    request = VideoRequest(prompt="ok")
    assert request.seed("v1", "a") == request.seed("v1", "a") != request.seed("v1", "b")


# --- the prompt's script and the language ---


@pytest.mark.parametrize(
    ("prompt", "language"),
    [
        ("蜜蜂如何交流", "zh"),
        ("東京の桜はいつ咲きますか", "ja"),
        ("النحل يتواصل بالرقص", "ar"),
        ("मधुमक्खियाँ कैसे बात करती हैं", "hi"),
        ("Πώς επικοινωνούν οι μέλισσες", "el"),
        ("Как общаются пчёлы", "ru"),
        ("用iPhone拍摄蜜蜂", "zh"),
        ("How do bees communicate?", "en"),
        ("The word 蜜蜂 means bee", "en"),
        ("2024 🐝", "en"),
    ],
)
def test_without_a_language_the_prompts_script_chooses_it(prompt: str, language: str) -> None:
    assert VideoRequest(prompt=prompt).language.value == language
    assert VideoRequest(prompt=prompt, language=None).language.value == language  # type: ignore[arg-type]
    assert VideoRequest.model_validate_json(f'{{"prompt": "{prompt}"}}').language.value == language


def test_a_given_language_is_kept_when_the_prompt_matches() -> None:
    assert VideoRequest(prompt="蜜蜂如何交流", language="zh").language.value == "zh"  # type: ignore[arg-type]
    assert VideoRequest(prompt="東京大学", language="ja").language.value == "ja"  # type: ignore[arg-type]
    assert VideoRequest(prompt="Les abeilles", language="fr").language.value == "fr"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("prompt", "language"),
    [("用iPhone拍摄蜜蜂如何交流", "zh"), ("The word 蜜蜂 means bee", "en"), ("iPhone 拍摄", "en")],
)
def test_mixed_prompts_pass(prompt: str, language: str) -> None:
    assert VideoRequest(prompt=prompt, language=language).language.value == language  # type: ignore[arg-type]


def _language_error(**fields: object) -> str:
    with pytest.raises(ValidationError) as exc:
        VideoRequest(**fields)  # type: ignore[arg-type]
    ((field, message),) = describe_validation_error(exc.value)
    assert field == "language"
    return message


def test_chinese_prompt_with_english_is_refused_on_the_language_field() -> None:
    assert _language_error(prompt="蜜蜂如何交流", language="en") == (
        "the prompt is written in Chinese (Han) script but language is 'en': "
        "use language 'zh' or write the prompt in English"
    )


def test_latin_prompt_with_chinese_is_refused() -> None:
    message = _language_error(prompt="How do bees communicate?", language="zh")
    assert "Latin script" in message and "'zh'" in message


@pytest.mark.parametrize("language", [None, "en", "ar"])
def test_hebrew_is_refused_by_name_with_the_supported_languages(language: str | None) -> None:
    fields: dict[str, object] = {"prompt": "איך דבורים מתקשרות"}
    if language:
        fields["language"] = language
    message = _language_error(**fields)
    assert "Hebrew script" in message and "Chinese (zh)" in message and "English (en)" in message


def test_a_bad_prompt_reports_only_the_prompt() -> None:
    with pytest.raises(ValidationError) as exc:
        VideoRequest(prompt="   ", language="zh")  # type: ignore[arg-type]
    assert [field for field, _ in describe_validation_error(exc.value)] == ["prompt"]
