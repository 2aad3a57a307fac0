"""Spoken sentences from dictionary entries: articles, names, people's lifetimes, labels and fragments."""

from __future__ import annotations

import pytest

from nexus_core.lexicon import LexEntry, find_wordnet
from nexus_core.narration import definition_sentences, facts_about, naming_in_prompt, with_article


def entry(name: str, gloss: str, **fields: object) -> LexEntry:
    defaults: dict[str, object] = {"senses": 1, "hypernym": None, "parts": (), "lifetime": None}
    return LexEntry(name=name, gloss=gloss, **{**defaults, **fields})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [("region of space", "a region of space"), ("infusion", "an infusion"), ("the citadel", "the citadel"),
     ("made with a starter", "made with a starter"), ("university town", "a university town"),
     ("physics", "physics")],
)
def test_articles(phrase: str, expected: str) -> None:
    assert with_article(phrase) == expected


def test_a_person_is_in_the_past_with_a_lifetime() -> None:
    curie = entry("Marie Curie", "French chemist (born in Poland) who won two Nobel prizes; one for radium",
                  lifetime=("1867", "1934"))
    assert definition_sentences(curie) == [
        "Marie Curie was a French chemist, born in Poland, who won two Nobel prizes.",
        "Marie Curie lived from 1867 to 1934.",
    ]


def test_a_leading_domain_label_and_a_garbled_fragment_are_left_out() -> None:
    star = entry("star", "(astronomy) a celestial body of hot gases; extremely bright")
    assert definition_sentences(star) == ["A star is a celestial body of hot gases."]


@pytest.mark.parametrize(
    ("name", "gloss", "expected"),
    [("honey", "a sweet yellow liquid produced by bees", "Honey is a sweet yellow liquid produced by bees."),
     ("lava", "rock that in its molten form (as magma) issues from volcanos; lava is also rock that results",
      "Lava is rock that in its molten form, as magma, issues from volcanos."),
     ("star", "(astronomy) a celestial body of hot gases", "A star is a celestial body of hot gases."),
     ("honeybee", "social bee often domesticated for the honey it produces",
      "A honeybee is a social bee often domesticated for the honey it produces.")],
)
def test_a_substance_is_named_without_an_article(name: str, gloss: str, expected: str) -> None:
    assert definition_sentences(entry(name, gloss))[0] == expected


def test_a_follow_on_clause_becomes_its_own_sentence() -> None:
    square = entry("Times Square", "the area of Manhattan around Broadway; heart of the New York theater district")
    assert facts_about(square)[1] == "It is the heart of the New York theater district."


@pytest.mark.parametrize(
    ("prompt", "run", "expected"),
    [("A tour of the Acropolis of Athens", "Acropolis", "the Acropolis"),
     ("The history of coffee, from Ethiopia", "coffee", "coffee"),
     ("How bicycle gears work", "bicycle", None),
     ("How a light bulb works", "light bulb", None)],
)
def test_a_noun_is_named_as_the_prompt_names_it(prompt: str, run: str, expected: str | None) -> None:
    assert naming_in_prompt(prompt, run) == expected


@pytest.mark.skipif(find_wordnet() is None, reason="Debian's wordnet-base is not installed")
def test_wordnet_entries_read_from_the_database() -> None:
    wordnet = find_wordnet()
    assert wordnet is not None
    hole = wordnet.entry("black holes")
    assert hole is not None and hole.name == "black hole" and "collapse of a star" in hole.gloss
    assert wordnet.lemma("honeybees") == "honeybee" and wordnet.lemma("no such thing here") is None
    assert [wordnet.lemma(w) for w in ("miles", "volcanoes", "churches", "games")] == ["mile", "volcano", "church",
                                                                                       "game"]
    assert wordnet.other_senses("work") > wordnet.other_senses("honeybee")


@pytest.mark.skipif(find_wordnet() is None, reason="Debian's wordnet-base is not installed")
def test_the_broader_term_is_named_as_the_definition_names_it() -> None:
    """A volcano is "a fissure in the earth's crust": the next sentence explains a fissure, not "a crack"
    (the first word of the same WordNet synset), which the listener never heard."""
    wordnet = find_wordnet()
    assert wordnet is not None
    volcano = wordnet.entry("volcano")
    assert volcano is not None and volcano.gloss.startswith("a fissure")
    broader = wordnet.broader(volcano)
    assert broader is not None and broader.name == "fissure"
    assert facts_about(volcano, broader=broader)[1] == "A fissure is a long narrow opening."
