"""Phonemes for Piper-format voices: clauses as espeak-ng cuts them, Piper's sentences, the model's ids."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nexus_core.media.phonemes import (
    Clause,
    PhonemeConfig,
    build_espeak_ipa_args,
    phoneme_count,
    phoneme_ids,
    phoneme_list,
    sentences_from_clauses,
    split_clauses,
    text_sentences,
)

ID_MAP = {"_": [0], "^": [1], "$": [2], " ": [3], ",": [8], ".": [10], "?": [13], "a": [14], "b": [15],
          "h": [20], "i": [21], "o": [27], "ʊ": [100], "ˈ": [120], "̃": [141], "ɔ": [54], "aɪ": [161]}


def _config(**overrides: object) -> PhonemeConfig:
    data: dict[str, object] = {"audio": {"sample_rate": 22050}, "espeak": {"voice": "en-us"},
                               "phoneme_id_map": ID_MAP, "num_speakers": 1}
    data.update(overrides)
    return PhonemeConfig.from_dict(data)


def test_config_is_read_from_the_voice_json(tmp_path: Path) -> None:
    path = tmp_path / "voice.onnx.json"
    path.write_text(json.dumps({
        "audio": {"sample_rate": 16000}, "espeak": {"voice": "fr"}, "phoneme_type": "espeak",
        "inference": {"noise_scale": 0.5, "length_scale": 1.2, "noise_w": 0.6},
        "num_speakers": 3, "speaker_id_map": {"anna": 2}, "phoneme_id_map": ID_MAP, "phoneme_map": {"b": ["a"]},
    }))
    config = PhonemeConfig.load(path)
    assert (config.sample_rate, config.espeak_voice, config.num_speakers) == (16000, "fr", 3)
    assert (config.noise_scale, config.length_scale, config.noise_w) == (0.5, 1.2, 0.6)
    assert config.phoneme_id_map["a"] == (14,) and config.phoneme_map == {"b": ("a",)}
    assert config.speaker_id("anna") == 2 and config.speaker_id("default") == 0
    assert _config().speaker_id("anna") is None  # a single-speaker voice takes no sid


def test_ids_are_bos_pad_then_each_phoneme_and_pad_then_eos() -> None:
    assert phoneme_ids("ab", _config()) == [1, 0, 14, 0, 15, 0, 2]
    assert phoneme_ids("", _config()) == [1, 0, 2]


def test_phonemes_are_nfd_code_points_and_unknown_ones_are_skipped() -> None:
    assert phoneme_list("ɔ̃", _config()) == ["ɔ", "\u0303"]  # a nasal vowel is two phonemes
    assert phoneme_ids("aɔ̃", _config()) == [1, 0, 14, 0, 54, 0, 141, 0, 2]
    assert phoneme_ids("aXb", _config()) == [1, 0, 14, 0, 15, 0, 2]


def test_phoneme_map_and_vowel_clusters_apply_before_the_ids() -> None:
    assert phoneme_ids("ab", _config(phoneme_map={"b": ["h", "i"]})) == [1, 0, 14, 0, 20, 0, 21, 0, 2]
    assert phoneme_list("haɪ", _config(vowel_clusters=[["a", "ɪ"]])) == ["h", "aɪ"]


# What piper-tts 1.8's espeak-ng bridge reports for each clause: (terminator, ends a sentence).
CLAUSES = [
    ("Hello, world. How are you today?", [(",", False), (".", True), ("?", True)]),
    ("It cost $3.50, or 1,000 yen; really: yes!", [(",", False), (";", False), (":", False), ("!", True)]),
    ('She said "hi" to me.', [(".", True)]),
    ('He said: "Stop." Then nothing.', [(":", False), (".", True), (".", True)]),
    ("Mr. Smith went to Washington... then left — fast.", [(".", True), ("", False), (";", False), (".", True)]),
    ("Wait!! Really?! e.g. this", [("!", True), ("?", True), ("", True)]),
    ("Dr. who? no", [("?", True), ("", True)]),
    ("At 10 a.m., didn't he?", [("?", True)]),
    ("At 10 a.m., Then he", [(".", True), ("", True)]),
    ("Hello... World", [("", False), ("", True)]),
    ("Hello… world", [("", False), ("", True)]),
    ("Hello—world, Hello -- world, Hello —world", [(",", False), (",", False), ("", True)]),
    ("Hello— world", [(";", False), ("", True)]),
    ("— Hello", [("", True)]),
    ("Why? ... no", [("?", True), ("", True)]),
    ("Go!? Now", [("!", True), ("", True)]),
    ("Hi:3 and 3.50", [("", True)]),
    ("“Quoted,” she said.", [(",", False), (".", True)]),
    ("Ends with comma,", [(",", False)]),
    ("مرحبا، كيف حالك؟ جيد.", [(",", False), ("?", True), (".", True)]),
    ("नमस्ते। आप कैसे हैं?", [("", True), ("?", True)]),
    ("こんにちは、世界。", [("", False), ("", True)]),
]


@pytest.mark.parametrize(("text", "expected"), CLAUSES, ids=[t for t, _ in CLAUSES])
def test_clauses_end_where_espeak_ng_ends_them(text: str, expected: list[tuple[str, bool]]) -> None:
    assert [(c.terminator, c.ends_sentence) for c in split_clauses(text)] == expected


def test_clause_texts_keep_the_words_and_drop_the_marks() -> None:
    assert [c.text for c in split_clauses('He said: "Stop." Then nothing.')] == ["He said", '"Stop', "Then nothing"]
    assert split_clauses("") == [Clause("", "", True)]


def test_sentences_keep_piper_punctuation_and_drop_language_switches() -> None:
    clauses = [Clause("a", ",", False), Clause("b", ".", True), Clause("c", "", False), Clause("d", "?", True),
               Clause("e", "", True)]
    ipa = ["həlˈoʊ", "(en)wˈɜːld(fr)", "ɐ", "b", "ʃˈʊɹ"]
    assert sentences_from_clauses(ipa, clauses) == ["həlˈoʊ, wˈɜːld.", "ɐb?", "ʃˈʊɹ"]
    with pytest.raises(ValueError, match="2 clauses"):
        sentences_from_clauses(["a", "b"], clauses)


def test_text_voices_read_characters_and_words_count_their_sounds() -> None:
    assert text_sentences("  Hi   there ") == ["Hi there"] and text_sentences(" ") == []
    assert phoneme_count("həlˈoʊ") == 5 and phoneme_count("(en)kˈæt(fr)") == 3 and phoneme_count("ɔ̃") == 1


def test_espeak_args_print_ipa_without_audio() -> None:
    assert build_espeak_ipa_args("fr") == ["espeak-ng", "-q", "--ipa", "-v", "fr", "--stdin"]
    assert build_espeak_ipa_args("en-us", line_clauses=True)[-3:] == ["-l", "100000", "--stdin"]
