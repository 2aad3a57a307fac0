"""What the pipeline knows about each language: its espeak-ng voice, the scripts it is written in."""

from __future__ import annotations

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


def espeak_voice_for(language: Language) -> str:
    """The espeak-ng voice that speaks `language`."""
    return ESPEAK_VOICES[language]
