"""Scene illustrations: the emoji a scene's words name, and their sprites."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nexus_core.media import illustrations
from nexus_core.media.illustrations import (
    INDEX_PATH,
    OPENMOJI_CREDIT,
    Illustration,
    choose_illustrations,
    render_illustration,
)

BEE, CLASSICAL_BUILDING, HOLE, HOT_BEVERAGE = "\U0001f41d", "\U0001f3db\ufe0f", "\U0001f573\ufe0f", "\u2615"
HONEY_POT, GLOBE_EUROPE_AFRICA, GLOBE_AMERICAS = "\U0001f36f", "\U0001f30d", "\U0001f30e"


def _emoji(words: list[str], count: int = 3, seed: int = 1) -> list[str]:
    return [i.emoji for i in choose_illustrations(words, count=count, seed=seed)]


@pytest.mark.parametrize(
    ("words", "hero"),
    [
        (["honeybees"], BEE),
        (["the waggle dance"], BEE),
        (["a swarm of bees"], BEE),
        (["Honeybees flying over spring flowers"], BEE),  # the specific subject beats a shared keyword
        (["the Acropolis"], CLASSICAL_BUILDING),
        (["The Parthenon's marble columns"], CLASSICAL_BUILDING),
        (["black holes"], HOLE),
        (["coffee beans", "Paris cafés"], HOT_BEVERAGE),
        (["honey"], HONEY_POT),  # the honey itself, not the bee that makes it
        (["Greece"], GLOBE_EUROPE_AFRICA),  # a country: the globe turned to it (no flags)
        (["Peru and the Andes"], GLOBE_AMERICAS),
    ],
)
def test_a_scene_gets_the_illustration_its_words_name(words: list[str], hero: str) -> None:
    for seed in range(4):
        assert _emoji(words, seed=seed)[0] == hero


@pytest.mark.parametrize(
    ("words", "hero"),
    [
        (["How airplanes fly"], "airplane"),  # the verb, not the insect
        (["Penguins of Antarctica"], "penguin"),
        (["Antarctica"], "penguin"),  # no polar bears in the south
        (["The French Revolution"], "globe showing europe africa"),  # not the croissant, not a postal horn
        (["The water cycle"], "cloud with rain"),  # not a motor scooter
        (["Saturn's rings"], "ringed planet"),  # not a diamond ring
        (["The northern lights"], "night with stars"),
    ],
)
def test_prompts_that_once_showed_the_wrong_thing(words: list[str], hero: str) -> None:
    assert choose_illustrations(words, count=3, seed=1)[0].name == hero


@pytest.mark.parametrize("words", [["a ceremony"], ["a system of elements"], ["heavier-than-air craft"]])
def test_words_that_only_share_a_keyword_show_nothing(words: list[str]) -> None:
    """A trophy for a ceremony, a card index for a system: the backdrop alone is better."""
    assert choose_illustrations(words, count=3, seed=1) == []


def test_what_is_said_counts_only_where_it_names_something() -> None:
    said = "Salieri was a prolific Italian composer and teacher."
    assert [i.name for i in choose_illustrations(["Salieri"], count=1, seed=1, said=said)] == ["violin"]
    assert choose_illustrations(["Salieri"], count=3, seed=1, said="The life of Salieri, in brief.") == []  # briefs
    assert choose_illustrations(["Salieri"], count=3, seed=1, said="Popular only for a short time.") == []  # shorts


def test_the_hero_is_what_the_leading_phrase_names() -> None:
    """A scene about honey in a video about bees: the honey pot in front, the bee behind it; the bee scores
    more over all the phrases, but the scene's first phrase is the honey."""
    for seed in range(4):
        assert _emoji(["honey", "how they make honey", "honeybees"], seed=seed)[:2] == [HONEY_POT, BEE]
        assert _emoji(["honeybees", "how they make honey"], seed=seed)[:2] == [BEE, HONEY_POT]


def test_half_of_a_compound_name_does_not_pick_the_other_thing() -> None:
    """'honey' is in the honey badger's keywords: a video about how bees make honey showed a badger."""
    for seed in range(4):
        assert "\U0001f9a1" not in _emoji(["honeybees and how they make honey"], seed=seed)  # badger
        assert "\U0001f9a1" not in _emoji(["honey"], seed=seed)


def test_the_matching_term_and_name_are_recorded() -> None:
    hero = choose_illustrations(["the Acropolis"], count=1, seed=0)[0]
    assert hero == Illustration(CLASSICAL_BUILDING, "classical building", "acropolis")


@pytest.mark.parametrize("words", [["a thing"], ["animal", "nature"], ["food"], ["x"], [], ["golden hour, epic"]])
def test_generic_or_empty_words_pick_nothing(words: list[str]) -> None:
    assert choose_illustrations(words, count=3, seed=1) == []


def test_choice_is_deterministic_and_distinct() -> None:
    words = ["bicycle gears", "a chain", "a bicycle", "Close-up of bicycle gears and the chain turning"]
    picks = [choose_illustrations(words, count=3, seed=9) for _ in range(3)]
    assert picks[0] == picks[1] == picks[2]
    assert len(picks[0]) == 3
    assert len({i.emoji for i in picks[0]}) == 3
    assert choose_illustrations(words, count=1, seed=9) == picks[0][:1]


def test_one_plain_word_shows_once() -> None:
    """'waves' names the sea wave; it must not also bring a loudspeaker ('sound waves')."""
    names = [i.name for i in choose_illustrations(["Waves on the ocean"], count=3, seed=1)]
    assert names[0] == "water wave"
    assert not any("speaker" in name for name in names)


def test_every_synonym_names_an_indexed_emoji() -> None:
    names = {v[0] for v in json.loads(INDEX_PATH.read_text(encoding="utf-8"))["emoji"].values()}
    for _, targets in illustrations._SYNONYM_GROUPS:
        assert set(targets) <= names, set(targets) - names


def test_index_is_compact_and_holds_no_people_flags_or_signs() -> None:
    assert INDEX_PATH.stat().st_size < 200_000
    index = json.loads(INDEX_PATH.read_text(encoding="utf-8"))["emoji"]
    assert 500 < len(index) < 1200
    for absent in ("\U0001f600", "\U0001f469\u200d\U0001f52c", "\U0001f44d", "\U0001f1ec\U0001f1f7", "\u2648"):
        assert absent not in index  # grinning face, woman scientist, thumbs up, Greek flag, Aries
    for present in (BEE, CLASSICAL_BUILDING, HOLE, HOT_BEVERAGE, "\U0001f9ea", "\u2699\ufe0f", "\U0001f35e"):
        assert present in index  # ... test tube, gear, bread


def test_sprite_is_rgba_of_the_asked_size_with_openmoji_outlines() -> None:
    bee = choose_illustrations(["honeybees"], count=1, seed=0)[0]
    sprite = render_illustration(bee, 200)
    assert sprite.dtype == np.uint8 and sprite.ndim == 3 and sprite.shape[2] == 4
    assert max(sprite.shape[:2]) == 200
    alpha = sprite[..., 3]
    assert (alpha == 0).mean() > 0.1 and (alpha == 255).mean() > 0.3  # a cut-out, not a tile
    opaque = sprite[alpha == 255][:, :3].astype(int)
    assert (opaque.max(axis=1) < 40).mean() > 0.1  # the black outline of the OpenMoji style
    assert (np.abs(opaque[:, 0] - opaque[:, 2]) > 100).mean() > 0.2  # and colour: a yellow body
    assert render_illustration(bee, 200) is sprite  # cached
    assert not sprite.flags.writeable


def test_credit_names_openmoji_and_its_licence() -> None:
    assert "OpenMoji" in OPENMOJI_CREDIT
    assert "CC BY-SA 4.0" in OPENMOJI_CREDIT
    assert "https://creativecommons.org/licenses/by-sa/4.0/" in OPENMOJI_CREDIT
    notice = (INDEX_PATH.parent / "NOTICE.md").read_text(encoding="utf-8")
    assert "Mu-An Chiou" in notice and "MIT" in notice and "CC BY-SA 4.0" in notice
