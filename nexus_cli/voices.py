"""`nexus voices`: which engine speaks each language, and what `--voice` accepts."""

from __future__ import annotations

import argparse
from typing import Any

from rich.console import Console

from nexus_core.languages import LANGUAGE_NAMES, espeak_voice_for
from nexus_core.models import Language
from nexus_core.settings import NexusSettings


def register(subparsers: Any) -> None:
    """Add `nexus voices`."""
    voices = subparsers.add_parser("voices", help="which voice speaks each language, and what --voice accepts")
    voices.set_defaults(handler=run_voices)


def run_voices(args: argparse.Namespace) -> int:
    from resources import resources_for
    from resources.voice import NeuralVoice, espeak_variants

    console = Console(soft_wrap=True)
    voice = resources_for("local", NexusSettings())["voice"]
    for language in Language:
        engine = voice.engine(language) if isinstance(voice, NeuralVoice) else "espeak-ng"
        name = LANGUAGE_NAMES.get(language, language.value)
        detail = "" if engine.startswith("neural:") else f" (espeak-ng voice {espeak_voice_for(language)})"
        console.print(f"{language.value:<3} {name:<11} {engine}{detail}")
    variants = ", ".join(sorted(espeak_variants())[:40])
    console.print(
        "\n--voice: 'default' for every language; for languages spoken by espeak-ng also a variant: "
        f"{variants}, ...\nAdd a neural voice for a language with NEXUS_VOICE_MODELS=fr=/path/fr.onnx,... "
        "(any Piper-format .onnx with its .onnx.json)."
    )
    return 0
