"""The template script writer: deterministic, prompt-aware, exactly timed and speakable in every language."""

from __future__ import annotations

from itertools import pairwise

import pytest

from nexus_core.media.timeline import VOICE_LEAD_S
from nexus_core.models import Language, MusicStyle, VideoRequest
from nexus_core.scenario_check import check_scenario, count_words
from nexus_core.script_template import (
    DIALOGUE_TAIL_S,
    TARGET_WORDS_PER_SECOND,
    read_prompt,
    write_template_scenario,
)

SATURN = "A cinematic journey through the rings of Saturn at sunset"
DURATIONS = (5, 6, 8, 9, 10, 11, 13, 17, 30, 45, 61, 99, 120, 299, 451, 600)


def _scenario(prompt: str = SATURN, *, video_id: str = "vid-1", **fields: object):
    request = VideoRequest(prompt=prompt, **fields)
    return request, write_template_scenario(request, video_id=video_id)


def test_same_request_and_video_id_give_the_same_scenario() -> None:
    assert _scenario()[1] == _scenario()[1]
    assert _scenario(duration_seconds=90)[1].model_dump() == _scenario(duration_seconds=90)[1].model_dump()


@pytest.mark.parametrize("language", list(Language))
def test_every_duration_gives_a_valid_scenario_that_sums_exactly(language: Language) -> None:
    for duration in DURATIONS:
        request, scenario = _scenario(duration_seconds=duration, language=language)
        assert check_scenario(scenario, request) == [], (language, duration)
        assert round(sum(s.duration_seconds for s in scenario.scenes), 6) == duration
        assert all(round(s.duration_seconds * 10, 6).is_integer() for s in scenario.scenes)
        assert all(s.dialogue.strip() for s in scenario.scenes), (language, duration)


@pytest.mark.parametrize(
    ("duration", "low", "high"), [(5, 1, 1), (9, 1, 2), (10, 2, 2), (30, 4, 6), (60, 8, 12), (600, 75, 120)]
)
def test_scene_count_follows_the_duration(duration: int, low: int, high: int) -> None:
    assert low <= len(_scenario(duration_seconds=duration)[1].scenes) <= high


def test_dialogue_leaves_room_for_the_voice_lead_and_tail() -> None:
    for duration in DURATIONS:
        for scene in _scenario(duration_seconds=duration)[1].scenes:
            budget = TARGET_WORDS_PER_SECOND * (scene.duration_seconds - VOICE_LEAD_S - DIALOGUE_TAIL_S)
            assert 0 < count_words(scene.dialogue) <= budget


def test_title_visuals_and_dialogue_come_from_the_prompt() -> None:
    _, scenario = _scenario(duration_seconds=40)
    assert scenario.title == "A cinematic journey through the rings of Saturn at sunset"
    elements = " ".join(e for s in scenario.scenes for e in s.visual_elements).lower()
    assert {"saturn", "rings", "sunset", "journey"} <= set(elements.split())
    spoken = " ".join(s.dialogue for s in scenario.scenes)
    assert "the rings of Saturn" in spoken
    assert "Saturn" in " ".join(s.description for s in scenario.scenes)


def test_a_different_prompt_gives_different_words() -> None:
    _, cats = _scenario("Cats playing in a sunny garden", duration_seconds=30)
    _, saturn = _scenario(duration_seconds=30)
    assert cats.title == "Cats playing in a sunny garden"
    assert "cats" in " ".join(s.dialogue for s in cats.scenes).lower()
    assert [s.dialogue for s in cats.scenes] != [s.dialogue for s in saturn.scenes]


def test_instructions_are_not_taken_as_the_subject() -> None:
    subject = read_prompt("Make a video about cats playing in the garden. They chase butterflies.", "en")
    assert subject.topic == "cats playing in the garden"
    assert "the garden" in subject.phrases
    assert "make" not in subject.keywords and "video" not in subject.keywords


def test_camera_angles_and_lighting_vary_from_scene_to_scene() -> None:
    _, scenario = _scenario(duration_seconds=90)
    scenes = scenario.scenes
    assert all(a.camera_angle != b.camera_angle for a, b in pairwise(scenes))
    assert all(a.lighting != b.lighting for a, b in pairwise(scenes))
    assert len({s.camera_angle for s in scenes}) >= 4
    assert len({s.lighting for s in scenes}) >= 3


def test_the_prompt_steers_the_lighting() -> None:
    _, night = _scenario("A quiet walk through the city at midnight under the moon", duration_seconds=30)
    assert all("night" in s.lighting or "dark" in s.lighting or "neon" in s.lighting for s in night.scenes)


def test_french_request_speaks_french() -> None:
    _, french = _scenario(
        "Une balade nocturne dans les rues de Paris sous la pluie", duration_seconds=30, language=Language.FR
    )
    _, english = _scenario("Une balade nocturne dans les rues de Paris sous la pluie", duration_seconds=30)
    spoken = " ".join(s.dialogue for s in french.scenes)
    assert "les rues de Paris" in spoken
    assert any(w in spoken for w in ("Merci", "bientôt", "Regardez", "Bienvenue", "commence", "Suivez"))
    assert not any(w in spoken for w in ("Thanks", "Welcome", "Look at"))
    assert [s.dialogue for s in french.scenes] != [s.dialogue for s in english.scenes]


def test_music_style_sets_the_mood_of_the_descriptions() -> None:
    _, epic = _scenario(duration_seconds=60, music_style=MusicStyle.CINEMATIC)
    moods = ("epic", "dramatic", "majestic", "intense")
    assert all(any(m in s.description for m in moods) for s in epic.scenes)


@pytest.mark.parametrize("prompt", ["!!! ???", "the of and", "🚀🌕", "a"])
def test_a_prompt_without_usable_words_still_gives_a_speakable_scenario(prompt: str) -> None:
    request, scenario = _scenario(prompt, duration_seconds=20)
    assert check_scenario(scenario, request) == []
    assert scenario.title.strip()
    assert all(s.dialogue.strip() and s.visual_elements for s in scenario.scenes)


@pytest.mark.parametrize(
    ("prompt", "subject"),
    [
        ("A 60-second explainer on black holes, HD, cinematic music", "black holes"),
        ("A 2 minute documentary about coral reefs in 4K with upbeat music", "coral reefs"),
        ("Une vidéo de 30 secondes sur les abeilles, musique douce", "sur les abeilles"),
    ],
)
def test_production_details_never_reach_the_narration(prompt: str, subject: str) -> None:
    from nexus_core.script_template import strip_format_words

    assert strip_format_words(prompt) == subject
    scenario = write_template_scenario(VideoRequest(prompt=prompt, duration_seconds=30), video_id="v")
    spoken = " ".join(s.dialogue for s in scenario.scenes).lower()
    for word in ("second", "explainer", "music", "hd", "4k", "musique"):
        assert word not in spoken.split() and f"{word}," not in spoken
