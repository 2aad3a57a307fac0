"""The template script writer: deterministic, about the prompt's content, exactly timed and speakable."""

from __future__ import annotations

from itertools import pairwise

import pytest

from nexus_core.lexicon import find_wordnet
from nexus_core.media.timeline import VOICE_LEAD_S
from nexus_core.models import Language, MusicStyle, VideoRequest
from nexus_core.scenario_check import check_scenario, count_words
from nexus_core.script_template import (
    DIALOGUE_TAIL_S,
    TARGET_WORDS_PER_SECOND,
    read_prompt,
    strip_format_words,
    write_template_scenario,
)

SATURN = "A cinematic journey through the rings of Saturn at sunset"
DURATIONS = (5, 6, 8, 9, 10, 11, 13, 17, 30, 45, 61, 99, 120, 299, 451, 600)
WORDNET = find_wordnet()
needs_wordnet = pytest.mark.skipif(WORDNET is None, reason="Debian's wordnet-base is not installed")
FILLER = ("Look at", "Take a moment", "Few things compare", "Every detail", "Thanks for watching", "Welcome to")


def _scenario(prompt: str = SATURN, *, video_id: str = "vid-1", **fields: object):
    request = VideoRequest(prompt=prompt, **fields)
    return request, write_template_scenario(request, video_id=video_id, lexicon=WORDNET)


def _spoken(scenario) -> str:
    return " ".join(s.dialogue for s in scenario.scenes if s.dialogue)


def test_same_request_and_video_id_give_the_same_scenario() -> None:
    assert _scenario()[1] == _scenario()[1]
    assert _scenario(duration_seconds=90)[1].model_dump() == _scenario(duration_seconds=90)[1].model_dump()


@pytest.mark.parametrize(
    ("language", "prompt"),
    [
        (Language.EN, SATURN),
        (Language.FR, "Les anneaux de Saturne au coucher du soleil"),
        (Language.RU, "Кольца Сатурна на закате"),
        (Language.EL, "Οι δακτύλιοι του Κρόνου στο ηλιοβασίλεμα"),
        (Language.ZH, "土星环在日落时分"),
        (Language.HI, "सूर्यास्त के समय शनि के छल्ले"),
    ],
)
def test_every_duration_gives_a_valid_scenario_that_sums_exactly(language: Language, prompt: str) -> None:
    for duration in DURATIONS:
        request, scenario = _scenario(prompt, duration_seconds=duration, language=language)
        assert check_scenario(scenario, request) == [], (language, duration)
        assert round(sum(s.duration_seconds for s in scenario.scenes), 6) == duration
        assert all(round(s.duration_seconds * 10, 6).is_integer() for s in scenario.scenes)
        assert scenario.scenes[0].dialogue.strip(), (language, duration)  # the video opens with a voice
        assert all(s.visual_elements for s in scenario.scenes)


@pytest.mark.parametrize(
    ("duration", "low", "high"), [(5, 1, 1), (9, 1, 2), (10, 2, 2), (30, 4, 6), (60, 8, 12), (600, 75, 120)]
)
def test_scene_count_follows_the_duration(duration: int, low: int, high: int) -> None:
    assert low <= len(_scenario(duration_seconds=duration)[1].scenes) <= high


def test_each_scene_is_long_enough_for_what_it_says() -> None:
    for duration in DURATIONS:
        for scene in _scenario(duration_seconds=duration)[1].scenes:
            budget = TARGET_WORDS_PER_SECOND * (scene.duration_seconds - VOICE_LEAD_S - DIALOGUE_TAIL_S)
            assert count_words(scene.dialogue) <= budget + 1e-9, (duration, scene)


def test_no_line_is_said_twice_and_no_filler() -> None:
    for prompt in (SATURN, "Black holes", "How honeybees communicate with the waggle dance"):
        _, scenario = _scenario(prompt, duration_seconds=60)
        sentences = [s for scene in scenario.scenes for s in scene.dialogue.split(". ") if s]
        assert len(sentences) == len(set(sentences)), sentences
        assert not any(f in _spoken(scenario) for f in FILLER)


def test_title_and_visuals_come_from_the_prompt() -> None:
    _, scenario = _scenario(duration_seconds=40)
    assert scenario.title == "A cinematic journey through the rings of Saturn at sunset"
    elements = " ".join(e for s in scenario.scenes for e in s.visual_elements).lower()
    assert {"saturn", "rings", "sunset"} <= set(elements.split())
    assert "Saturn" in " ".join(s.description for s in scenario.scenes)


@needs_wordnet
@pytest.mark.parametrize(
    ("prompt", "fact"),
    [
        ("A 30-second explainer on black holes, cinematic music", "A black hole is a region of space"),
        ("How honeybees communicate with the waggle dance", "A honeybee is a social bee"),
        ("A portrait of Marie Curie in her laboratory", "Marie Curie was a French chemist"),
        ("Times Square at night", "Times Square is the area of Manhattan"),
        ("A tour of the Acropolis of Athens", "The Acropolis is the citadel"),
        # a noun of the definition after "the" is explained, though "honey" is a verb too
        ("Honeybees and how they make honey", "Honey is a sweet yellow liquid produced by bees."),
        ("How volcanoes erupt", "Lava is rock that in its molten form"),
        # the sense the prompt speaks of, not WordNet's first ("empty rhetoric", "a reactionary politician")
        ("Jazz music in New Orleans", "Jazz is a genre of popular music that originated in New Orleans"),
        ("The French Revolution", "Bourbon is a member of the European royal family that ruled France."),
        ("Whales and their songs", "A whale is any of the larger cetacean mammals"),  # not "a very large person"
        ("A short tour of Paris", "Paris is the capital and largest city of France."),  # a name: its first sense
    ],
)
def test_a_short_prompt_is_narrated_with_what_the_lexicon_knows(prompt: str, fact: str) -> None:
    _, scenario = _scenario(prompt, duration_seconds=30)
    assert fact in _spoken(scenario)


@needs_wordnet
@pytest.mark.parametrize(
    ("prompt", "wrong"),
    [
        ("Jazz music in New Orleans", "empty rhetoric"),
        ("The French Revolution", "reactionary politician"),
        ("The French Revolution", "French writer"),  # "France" is the republic, not Anatole France
        ("The Apollo 11 moon landing", "staircase"),  # "landing": no sense fits, so it is left unsaid
        ("The Apollo 11 moon landing", "Greek god"),  # "Apollo 11" is a mission
        ("How to make sourdough bread", "money"),  # "dough" is not slang for money ("bread" is, too)
        ("Tea ceremonies in Japan", "very old person"),  # "an ancient ritual": an adjective
        ("Tea ceremonies in Japan", "act of consuming"),  # "drinking tea": an action, not a thing to explain
        ("The Silk Road", "Roman unit"),  # "4,000 miles" needs no mile explained
        ("The Silk Road", "Cypriot monetary unit"),  # "miles" is a mile, not a mil
        # "the collapse of a star" closes the definition: the celestial body, though "field" is in another sense
        ("A 30-second explainer on black holes, cinematic music", "dazzlingly skilled"),
    ],
)
def test_a_word_is_never_explained_in_a_sense_the_prompt_does_not_mean(prompt: str, wrong: str) -> None:
    _, scenario = _scenario(prompt, duration_seconds=30)
    assert wrong not in _spoken(scenario)


def test_a_long_prompt_is_narrated_in_its_own_words_in_order() -> None:
    prompt = (
        "Coffee was first found in Ethiopia, where the goatherd Kaldi saw his goats dance after eating red "
        "berries. Monks in Yemen brewed it to stay awake through night prayers. From the port of Mocha it "
        "reached Venice, and the first European coffee houses opened in the 1600s."
    )
    _, scenario = _scenario(prompt, duration_seconds=40)
    spoken = _spoken(scenario)
    positions = [spoken.find(w) for w in ("Kaldi", "Yemen", "Mocha", "coffee houses")]
    assert all(p >= 0 for p in positions), spoken
    assert positions == sorted(positions)


@pytest.mark.parametrize(
    ("prompt", "title"),
    [
        ("A portrait of Marie Curie in her laboratory", "A portrait of Marie Curie in her laboratory"),
        ("Times Square at night, 9:16", "Times Square at night"),
        ("The standard model of particle physics, HD", "The standard model of particle physics"),
        ("A dusty red landscape on Mars, portrait, 4K", "A dusty red landscape on Mars"),
    ],
)
def test_words_that_also_name_formats_stay_in_the_subject(prompt: str, title: str) -> None:
    assert _scenario(prompt, duration_seconds=20)[1].title == title


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


def test_french_request_speaks_its_own_words_in_french() -> None:
    _, french = _scenario(
        "Une balade nocturne dans les rues de Paris sous la pluie", duration_seconds=30, language=Language.FR
    )
    spoken = _spoken(french)
    assert "les rues de Paris" in spoken
    assert not any(w in spoken for w in ("Thanks", "Welcome", "Look at", "That was"))


def test_music_style_sets_the_mood_of_the_descriptions() -> None:
    _, epic = _scenario(duration_seconds=60, music_style=MusicStyle.CINEMATIC)
    moods = ("epic", "dramatic", "majestic", "intense")
    assert all(any(m in s.description for m in moods) for s in epic.scenes)


@pytest.mark.parametrize("prompt", ["!!! ???", "the of and", "🚀🌕", "a"])
def test_a_prompt_without_usable_words_still_gives_a_speakable_scenario(prompt: str) -> None:
    request, scenario = _scenario(prompt, duration_seconds=20)
    assert check_scenario(scenario, request) == []
    assert scenario.title.strip()
    assert scenario.scenes[0].dialogue.strip() and all(s.visual_elements for s in scenario.scenes)


@pytest.mark.parametrize(
    ("prompt", "subject"),
    [
        ("A 60-second explainer on black holes, HD, cinematic music", "black holes"),
        ("A 2 minute documentary about coral reefs in 4K with upbeat music", "coral reefs"),
        ("Une vidéo de 30 secondes sur les abeilles, musique douce", "sur les abeilles"),
    ],
)
def test_production_details_never_reach_the_narration(prompt: str, subject: str) -> None:
    assert strip_format_words(prompt) == subject
    scenario = write_template_scenario(VideoRequest(prompt=prompt, duration_seconds=30), video_id="v", lexicon=WORDNET)
    spoken = _spoken(scenario).lower()
    for word in ("second", "explainer", "music", "hd", "4k", "musique"):
        assert word not in spoken.split() and f"{word}," not in spoken
