"""check_scenario: accepts a good scenario in any form, names each problem of a bad one."""

from __future__ import annotations

import json

import pytest

from nexus_core.media.timeline import VOICE_LEAD_S
from nexus_core.models import Scenario, VideoRequest
from nexus_core.scenario_check import MAX_WORDS_PER_SECOND, check_scenario
from nexus_core.script_template import write_template_scenario

REQUEST = VideoRequest(prompt="Autumn leaves in a quiet park", duration_seconds=12)


def _scene(number: int, duration: float, dialogue: str = "Leaves fall.", **extra: object) -> dict:
    return {
        "scene_number": number,
        "duration_seconds": duration,
        "description": "A quiet park in autumn",
        "visual_elements": ["leaves"],
        "dialogue": dialogue,
        **extra,
    }


def _scenario(*scenes: dict) -> dict:
    return {"title": "Autumn", "scenes": list(scenes)}


def test_accepts_a_good_scenario_as_model_dict_or_json() -> None:
    good = write_template_scenario(REQUEST, video_id="v1")
    assert check_scenario(good, REQUEST) == []
    assert check_scenario(good.model_dump(mode="json"), REQUEST) == []
    assert check_scenario(good.model_dump_json(), REQUEST) == []


@pytest.mark.parametrize(
    "bad",
    [
        {"title": "No scenes"},
        _scenario(_scene(2, 12)),
        _scenario({**_scene(1, 12), "camera_angle": "dutch"}),
        _scenario({**_scene(1, 12), "visual_elements": []}),
        "{not json",
        json.dumps({"title": "x", "scenes": [], "extra": 1}),
    ],
)
def test_rejects_schema_errors_with_the_field_named(bad: dict | str) -> None:
    problems = check_scenario(bad, REQUEST)
    assert problems and all(p.startswith("schema:") for p in problems)


def test_rejects_durations_that_do_not_sum_to_the_request() -> None:
    problems = check_scenario(_scenario(_scene(1, 6), _scene(2, 6.2)), REQUEST)
    assert len(problems) == 1 and "sum to 12.20 s" in problems[0] and "12 s" in problems[0]
    assert check_scenario(_scenario(_scene(1, 6), _scene(2, 6.04)), REQUEST) == []


def test_rejects_dialogue_that_cannot_be_spoken_in_its_scene() -> None:
    rushed = " ".join(["word"] * 30)
    problems = check_scenario(_scenario(_scene(1, 4, rushed), _scene(2, 8)), REQUEST)
    assert len(problems) == 1 and problems[0].startswith("scene 1:") and "words/s" in problems[0]


def test_the_speaking_limit_counts_the_voice_lead() -> None:
    duration = 5.0
    limit = int(MAX_WORDS_PER_SECOND * (duration - VOICE_LEAD_S))
    fits = " ".join(["word"] * limit)
    too_many = " ".join(["word"] * (limit + 1))
    assert check_scenario(_scenario(_scene(1, duration, fits), _scene(2, 7)), REQUEST) == []
    assert check_scenario(_scenario(_scene(1, duration, too_many), _scene(2, 7)), REQUEST) != []


def test_rejects_scenes_shorter_than_a_second_and_blank_text() -> None:
    scenario = _scenario(_scene(1, 0.5, ""), {**_scene(2, 11.5), "description": "   "})
    problems = check_scenario(scenario, REQUEST)
    assert any("scene 1" in p and "shorter than 1 s" in p for p in problems)
    assert any("scene 2" in p and "description is blank" in p for p in problems)


def test_punctuation_is_not_counted_as_words() -> None:
    scenario = Scenario.model_validate(_scenario(_scene(1, 1.35, "Go — now ... !"), _scene(2, 10.65)))
    assert check_scenario(scenario, REQUEST) == []
