"""Checks a scenario against its request: schema, timing and whether each line can be spoken in time."""

from __future__ import annotations

import math

from pydantic import ValidationError

from nexus_core.languages import Script, script_of
from nexus_core.media.timeline import VOICE_LEAD_S
from nexus_core.models import Scenario, VideoRequest, describe_validation_error

MAX_WORDS_PER_SECOND = 3.2  # faster than this and a voice has to rush
MIN_SCENE_S = 1.0
DURATION_TOLERANCE_S = 0.05


# Chinese and Japanese are written without spaces: espeak-ng speaks about 3 of their characters a second,
# so each counts as WORDS_PER_CJK_CHAR of a word in the pace rules below (measured with espeak-ng cmn/ja).
WORDS_PER_CJK_CHAR = 0.8
_WRITTEN_WITHOUT_SPACES = frozenset({Script.HAN, Script.HIRAGANA, Script.KATAKANA})


def count_words(text: str) -> int:
    """Spoken words in a line: whitespace-separated tokens with a letter or digit; CJK characters count
    WORDS_PER_CJK_CHAR each (a Chinese sentence is one token but many spoken syllables)."""
    total = 0.0
    for token in text.split():
        scripts = [script_of(ch) for ch in token]
        cjk = sum(1 for script in scripts if script in _WRITTEN_WITHOUT_SPACES)
        if cjk:
            other = any(ch.isalnum() and s not in _WRITTEN_WITHOUT_SPACES for ch, s in zip(token, scripts, strict=True))
            total += cjk * WORDS_PER_CJK_CHAR + (1 if other else 0)
        elif any(ch.isalnum() for ch in token):
            total += 1
    return math.ceil(total)


def speakable_seconds(scene_duration_s: float) -> float:
    """Time a scene leaves for its voice once the lead-in is taken off."""
    return max(0.0, scene_duration_s - VOICE_LEAD_S)


def _parse(scenario: Scenario | dict | str) -> tuple[Scenario | None, list[str]]:
    if isinstance(scenario, Scenario):
        return scenario, []
    try:
        if isinstance(scenario, str):
            return Scenario.model_validate_json(scenario), []
        return Scenario.model_validate(scenario), []
    except ValidationError as exc:
        return None, [f"schema: {field}: {message}" for field, message in describe_validation_error(exc)]


def _scene_problems(scenario: Scenario) -> list[str]:
    problems: list[str] = []
    for scene in scenario.scenes:
        where = f"scene {scene.scene_number}"
        if scene.duration_seconds < MIN_SCENE_S:
            problems.append(f"{where}: {scene.duration_seconds:.2f} s is shorter than {MIN_SCENE_S:.0f} s")
        if not scene.description.strip():
            problems.append(f"{where}: description is blank")
        if any(not element.strip() for element in scene.visual_elements):
            problems.append(f"{where}: a visual element is blank")
        words = count_words(scene.dialogue)
        if words:
            seconds = speakable_seconds(scene.duration_seconds)
            rate = words / seconds if seconds > 0 else float("inf")
            if rate > MAX_WORDS_PER_SECOND:
                problems.append(
                    f"{where}: dialogue of {words} words needs {rate:.1f} words/s in {seconds:.2f} s "
                    f"(at most {MAX_WORDS_PER_SECOND} words/s)"
                )
    return problems


def check_scenario(scenario: Scenario | dict | str, request: VideoRequest) -> list[str]:
    """Readable problems with a scenario for this request; an empty list means it is valid."""
    parsed, problems = _parse(scenario)
    if parsed is None:
        return problems
    if not parsed.title.strip():
        problems.append("title is blank")
    total = parsed.duration_seconds
    if abs(total - request.duration_seconds) > DURATION_TOLERANCE_S:
        problems.append(
            f"scene durations sum to {total:.2f} s, the request asks for {request.duration_seconds} s "
            f"(±{DURATION_TOLERANCE_S} s)"
        )
    return problems + _scene_problems(parsed)
