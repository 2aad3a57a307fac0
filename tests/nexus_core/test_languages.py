"""Languages: espeak voices, the scripts each language is written in, and detecting a prompt's script."""

from __future__ import annotations

import pytest

from nexus_core.languages import (
    ESPEAK_VOICES,
    LANGUAGE_NAMES,
    LANGUAGE_SCRIPTS,
    Script,
    detect_script,
    detect_script_language,
    espeak_voice_for,
    script_mismatch,
    script_of,
    script_shares,
)
from nexus_core.models import Language


def test_every_language_has_a_voice_a_name_and_its_scripts() -> None:
    for language in Language:
        assert espeak_voice_for(language) == ESPEAK_VOICES[language]
        assert LANGUAGE_NAMES[language]
        assert LANGUAGE_SCRIPTS[language]
    assert espeak_voice_for(Language.ZH) == "cmn"


@pytest.mark.parametrize(
    ("char", "script"),
    [
        ("a", Script.LATIN), ("é", Script.LATIN), ("Ａ", Script.LATIN), ("𝐁", Script.LATIN),
        ("Ω", Script.GREEK), ("Ж", Script.CYRILLIC), ("蜜", Script.HAN), ("々", Script.HAN),
        ("あ", Script.HIRAGANA), ("ア", Script.KATAKANA), ("ｱ", Script.KATAKANA), ("ー", Script.KATAKANA),
        ("ب", Script.ARABIC), ("क", Script.DEVANAGARI), ("ש", Script.HEBREW), ("ก", Script.THAI),
        ("한", Script.HANGUL), ("1", None), (",", None), ("🐝", None), (" ", None),
    ],
)
def test_script_of_a_letter(char: str, script: Script | None) -> None:
    assert script_of(char) is script


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("蜜蜂如何交流", Language.ZH),
        ("東京の桜はいつ咲きますか", Language.JA),
        ("カタカナだけ", Language.JA),
        ("النحل يتواصل بالرقص", Language.AR),
        ("मधुमक्खियाँ कैसे बात करती हैं", Language.HI),
        ("Πώς επικοινωνούν οι μέλισσες", Language.EL),
        ("Как общаются пчёлы", Language.RU),
        ("How do bees communicate?", None),
        ("Comment les abeilles communiquent-elles ?", None),
        ("איך דבורים מתקשרות", None),
        ("12345 🐝 !", None),
        ("", None),
    ],
)
def test_detect_script_language(text: str, language: Language | None) -> None:
    assert detect_script_language(text) is language


def test_a_latin_brand_name_inside_chinese_is_still_chinese() -> None:
    assert detect_script("用iPhone拍摄蜜蜂如何交流") is Script.HAN
    assert detect_script_language("用iPhone拍摄蜜蜂如何交流") is Language.ZH


def test_a_chinese_word_inside_english_is_still_latin() -> None:
    assert detect_script("The word 蜜蜂 means bee") is Script.LATIN


def test_han_and_kana_are_weighed_together() -> None:
    shares = script_shares("東京の桜")
    assert set(shares) == {Script.JAPANESE}
    assert script_shares("東京大学") == {Script.HAN: 1.0}
    assert script_shares("Hello 世界")[Script.HAN] == pytest.approx(6 / 11)  # 2 Han weigh 3 letters each


def test_unsupported_scripts_are_reported_by_name() -> None:
    assert detect_script("איך דבורים מתקשרות") is Script.HEBREW
    assert detect_script("ผึ้งสื่อสารกันอย่างไร") is Script.THAI
    assert detect_script("벌은 어떻게 소통하나요") is Script.HANGUL


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("How do bees communicate?", Language.EN),
        ("蜜蜂如何交流", Language.ZH),
        ("東京大学", Language.JA),  # kanji only: Japanese as much as Chinese
        ("東京大学", Language.ZH),
        ("東京の桜はいつ咲きますか", Language.JA),
        ("用iPhone拍摄蜜蜂", Language.ZH),
        ("iPhone 拍摄", Language.EN),  # evenly mixed
        ("The word 蜜蜂 means bee", Language.EN),
        ("Как общаются пчёлы", Language.RU),
        ("2024 🐝", Language.ZH),  # no letters: nothing to refuse
    ],
)
def test_prompts_the_language_can_voice_pass(text: str, language: Language) -> None:
    assert script_mismatch(text, language) is None


def test_han_with_english_is_refused_with_the_fix() -> None:
    message = script_mismatch("蜜蜂如何交流", Language.EN)
    assert message == (
        "the prompt is written in Chinese (Han) script but language is 'en': "
        "use language 'zh' or write the prompt in English"
    )


def test_latin_with_chinese_is_refused() -> None:
    message = script_mismatch("How do bees communicate?", Language.ZH)
    assert message is not None
    assert "Latin script" in message and "'zh'" in message and "en, fr" in message


def test_japanese_with_chinese_is_refused() -> None:
    message = script_mismatch("東京の桜はいつ咲きますか", Language.ZH)
    assert message is not None and "use language 'ja'" in message


@pytest.mark.parametrize("language", list(Language))
def test_hebrew_is_refused_whatever_the_language_naming_the_script(language: Language) -> None:
    message = script_mismatch("איך דבורים מתקשרות", language)
    assert message is not None
    assert "Hebrew script" in message
    assert all(f"({lang.value})" in message for lang in Language)
