"""What the pipeline knows about each language: its espeak-ng voice, the scripts it is written in, and
which language a prompt's script points at."""

from __future__ import annotations

import unicodedata
from collections import Counter
from enum import StrEnum
from functools import lru_cache
from typing import Final

from nexus_core.models import Language

# espeak-ng voice names (espeak-ng --voices): phonemes for the neural voices, and the fallback voice.
ESPEAK_VOICES: Final[dict[Language, str]] = {
    Language.EN: "en-us",
    Language.FR: "fr-fr",
    Language.ES: "es",
    Language.DE: "de",
    Language.IT: "it",
    Language.PT: "pt",
    Language.EL: "el",
    Language.RU: "ru",
    Language.ZH: "cmn",
    Language.JA: "ja",
    Language.AR: "ar",
    Language.HI: "hi",
}

LANGUAGE_NAMES: Final[dict[Language, str]] = {
    Language.EN: "English",
    Language.FR: "French",
    Language.ES: "Spanish",
    Language.DE: "German",
    Language.IT: "Italian",
    Language.PT: "Portuguese",
    Language.EL: "Greek",
    Language.RU: "Russian",
    Language.ZH: "Chinese",
    Language.JA: "Japanese",
    Language.AR: "Arabic",
    Language.HI: "Hindi",
}


def espeak_voice_for(language: Language) -> str:
    """The espeak-ng voice that speaks `language`."""
    return ESPEAK_VOICES[language]


class Script(StrEnum):
    """A writing system, named as Unicode names it. JAPANESE is Han mixed with kana (ISO 15924 Jpan)."""

    LATIN = "Latin"
    GREEK = "Greek"
    CYRILLIC = "Cyrillic"
    HAN = "Han"
    HIRAGANA = "Hiragana"
    KATAKANA = "Katakana"
    JAPANESE = "Japanese"
    ARABIC = "Arabic"
    DEVANAGARI = "Devanagari"
    HEBREW = "Hebrew"
    THAI = "Thai"
    LAO = "Lao"
    HANGUL = "Hangul"
    BOPOMOFO = "Bopomofo"
    ARMENIAN = "Armenian"
    GEORGIAN = "Georgian"
    ETHIOPIC = "Ethiopic"
    SYRIAC = "Syriac"
    THAANA = "Thaana"
    BENGALI = "Bengali"
    GURMUKHI = "Gurmukhi"
    GUJARATI = "Gujarati"
    ORIYA = "Oriya"
    TAMIL = "Tamil"
    TELUGU = "Telugu"
    KANNADA = "Kannada"
    MALAYALAM = "Malayalam"
    SINHALA = "Sinhala"
    TIBETAN = "Tibetan"
    MYANMAR = "Myanmar"
    KHMER = "Khmer"
    MONGOLIAN = "Mongolian"
    CHEROKEE = "Cherokee"
    YI = "Yi"
    OTHER = "another"


LATIN_LANGUAGES: Final[tuple[Language, ...]] = (
    Language.EN, Language.FR, Language.ES, Language.DE, Language.IT, Language.PT,
)

# The scripts each language is written in. Japanese counts Han alone too: a short kanji-only prompt
# ("東京大学") is as much Japanese as Chinese.
LANGUAGE_SCRIPTS: Final[dict[Language, frozenset[Script]]] = {
    **{language: frozenset({Script.LATIN}) for language in LATIN_LANGUAGES},
    Language.EL: frozenset({Script.GREEK}),
    Language.RU: frozenset({Script.CYRILLIC}),
    Language.ZH: frozenset({Script.HAN}),
    Language.JA: frozenset({Script.JAPANESE, Script.HAN, Script.HIRAGANA, Script.KATAKANA}),
    Language.AR: frozenset({Script.ARABIC}),
    Language.HI: frozenset({Script.DEVANAGARI}),
}

# The language a prompt written mostly in a non-Latin script is taken to be in.
SCRIPT_LANGUAGE: Final[dict[Script, Language]] = {
    Script.HAN: Language.ZH,
    Script.JAPANESE: Language.JA,
    Script.HIRAGANA: Language.JA,
    Script.KATAKANA: Language.JA,
    Script.ARABIC: Language.AR,
    Script.DEVANAGARI: Language.HI,
    Script.GREEK: Language.EL,
    Script.CYRILLIC: Language.RU,
}

_SCRIPT_LABELS: Final[dict[Script, str]] = {
    Script.HAN: "Chinese (Han)",
    Script.JAPANESE: "Japanese (kana and kanji)",
    Script.OTHER: "an unsupported",
}

# A Han or kana character, or a Hangul syllable, carries about a word's worth of a Latin text in three
# letters' space, so each counts three letters when scripts are weighed against each other.
DENSE_WEIGHT: Final = 3.0
_DENSE: Final = frozenset({Script.HAN, Script.HIRAGANA, Script.KATAKANA, Script.HANGUL, Script.YI})
# Kana at least this share of the Han + kana letters make a text Japanese (Chinese has none).
KANA_SHARE_FOR_JAPANESE: Final = 0.1
# A prompt passes for a language when that language's scripts hold at least this share of its letters,
# whatever else dominates: "用 iPhone 拍摄" and "the word 蜜蜂" are both fine in either language.
MIXED_SHARE_OK: Final = 0.4

# The first word of a letter's Unicode name names its script.
_NAME_WORDS: Final[dict[str, Script]] = {
    **{s.name: s for s in Script if s not in (Script.JAPANESE, Script.OTHER)},
    "CJK": Script.HAN,
    "IDEOGRAPHIC": Script.HAN,  # 々 and 〆
    "KATAKANA-HIRAGANA": Script.KATAKANA,  # ー
}


@lru_cache(maxsize=4096)
def script_of(char: str) -> Script | None:
    """The script of one letter; None for anything else (digits, punctuation, emoji, modifier letters).

    Compatibility forms count as their plain letter: fullwidth Ａ and bold 𝐀 are Latin, halfwidth ｱ Katakana.
    """
    char = unicodedata.normalize("NFKC", char)[:1] or char
    category = unicodedata.category(char)
    if not category.startswith("L"):
        return None
    script = _NAME_WORDS.get(unicodedata.name(char, "").partition(" ")[0])
    if script is None:
        return None if category == "Lm" else Script.OTHER
    return script


def script_shares(text: str) -> dict[Script, float]:
    """Each script's share of the letters of `text`, Han and kana weighed as DENSE_WEIGHT letters each.

    Han and kana are reported together: as JAPANESE when kana are at least KANA_SHARE_FOR_JAPANESE of
    them, else as HAN. Returns an empty dict for a text without letters.
    """
    counts: Counter[Script] = Counter(s for ch in text if (s := script_of(ch)) is not None)
    kana = counts.pop(Script.HIRAGANA, 0) + counts.pop(Script.KATAKANA, 0)
    han = counts.pop(Script.HAN, 0)
    if han + kana:
        counts[Script.JAPANESE if kana >= KANA_SHARE_FOR_JAPANESE * (han + kana) else Script.HAN] = han + kana
    weights = {s: n * (DENSE_WEIGHT if s in _DENSE or s is Script.JAPANESE else 1.0) for s, n in counts.items()}
    total = sum(weights.values())
    return {s: w / total for s, w in sorted(weights.items(), key=lambda item: -item[1])} if total else {}


def detect_script(text: str) -> Script | None:
    """The script most of the letters of `text` are written in (Latin wins a tie); None without letters."""
    shares = script_shares(text)
    if not shares:
        return None
    return max(shares, key=lambda s: (shares[s], s is Script.LATIN))


def detect_script_language(text: str) -> Language | None:
    """The language a text's script points at: Han -> zh, kana -> ja, Arabic -> ar, Devanagari -> hi,
    Greek -> el, Cyrillic -> ru. None for Latin (any Latin language), no letters, or a script we cannot voice.
    """
    script = detect_script(text)
    return SCRIPT_LANGUAGE.get(script) if script is not None else None


def script_label(script: Script) -> str:
    """How a message names a script: "Chinese (Han)", "Hebrew"."""
    return _SCRIPT_LABELS.get(script, script.value)


def supported_languages_text() -> str:
    """"English (en), French (fr), ..." for messages."""
    return ", ".join(f"{LANGUAGE_NAMES[lang]} ({lang.value})" for lang in Language)


def script_mismatch(text: str, language: Language) -> str | None:
    """Why a prompt `text` cannot be voiced in `language`, or None when it can.

    A prompt is refused when most of it is in a script no voice speaks, or in a script `language` is not
    written in, unless `language`'s scripts still hold MIXED_SHARE_OK of its letters (mixed prompts pass).
    """
    script = detect_script(text)
    own = LANGUAGE_SCRIPTS[language]
    if script is None or script in own:
        return None
    shares = script_shares(text)
    if sum(share for s, share in shares.items() if s in own) >= MIXED_SHARE_OK:
        return None
    label = script_label(script)
    if script is not Script.LATIN and script not in SCRIPT_LANGUAGE:
        return (
            f"the prompt is written in {label} script, which no voice here speaks: write it in one of the "
            f"supported languages: {supported_languages_text()}"
        )
    name = LANGUAGE_NAMES[language]
    if script is Script.LATIN:
        latin = ", ".join(lang.value for lang in LATIN_LANGUAGES)
        return (
            f"the prompt is written in Latin script but language is '{language.value}' ({name}): "
            f"write the prompt in {name} or use a language written in Latin script ({latin})"
        )
    expected = SCRIPT_LANGUAGE[script]
    return (
        f"the prompt is written in {label} script but language is '{language.value}': "
        f"use language '{expected.value}' or write the prompt in {name}"
    )
