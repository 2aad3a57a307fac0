"""Voices: speak one scene's line into a WAV that fits its time. espeak-ng is the embedded default."""

from __future__ import annotations

import logging
import shutil
import tempfile
import wave
from abc import ABC, abstractmethod
from functools import lru_cache
from pathlib import Path
from typing import Any

import dagster as dg

from nexus_core.media.audio import build_tempo_args, build_voice_finish_args, wav_duration, write_silence
from nexus_core.media.runner import run_command, run_ffmpeg
from nexus_core.models import Language, VoiceClip

log = logging.getLogger(__name__)

SILENT_CLIP_S = 0.25  # what an empty line becomes
ESPEAK_VOICES: dict[Language, str] = {
    Language.EN: "en-us",
    Language.FR: "fr-fr",
    Language.ES: "es",
    Language.DE: "de",
    Language.IT: "it",
    Language.PT: "pt",
    Language.EL: "el",
    Language.RU: "ru",
}


class VoiceUnavailableError(RuntimeError):
    """A voice cannot run here: an optional package or its model is missing."""


class VoiceSynth(dg.ConfigurableResource, ABC):
    """Speaks a line; a cloud TTS subclasses this too. The clip must not last longer than max_seconds."""

    @abstractmethod
    def synthesize(self, text: str, *, language: Language, voice: str, out_path: Path, max_seconds: float) -> VoiceClip:
        """Write a mono WAV of the line to out_path, at most max_seconds long, and describe it."""

    def provider_name(self) -> str:
        """Label for asset metadata."""
        return type(self).__name__


class RateFittedVoice(VoiceSynth, ABC):
    """A local voice that can speak faster: re-speak faster when a line runs long, then time-compress."""

    sample_rate: int = 24000
    max_speedup: float = 1.6  # the fastest re-synthesis, relative to the voice's normal rate

    @abstractmethod
    def speak(self, text: str, *, language: Language, voice: str, out_path: Path, speed: float) -> None:
        """Write the line as a WAV to out_path at `speed` times the normal rate."""

    def synthesize(self, text: str, *, language: Language, voice: str, out_path: Path, max_seconds: float) -> VoiceClip:
        if max_seconds <= 0:
            raise ValueError(f"max_seconds must be positive, got {max_seconds}")
        out_path = Path(out_path)
        if text.strip():
            with tempfile.TemporaryDirectory(prefix="nexus-voice-") as tmp:
                self._speak_within(text, language, voice, out_path, max_seconds, Path(tmp))
        if not text.strip() or wav_duration(out_path) == 0:
            write_silence(out_path, min(SILENT_CLIP_S, max_seconds), sample_rate=self.sample_rate)
        return VoiceClip(duration_s=wav_duration(out_path), sample_rate=self.sample_rate, provider=self.provider_name())

    def _speak_within(
        self, text: str, language: Language, voice: str, out_path: Path, max_seconds: float, tmp: Path
    ) -> None:
        raw = tmp / "raw.wav"
        self.speak(text, language=language, voice=voice, out_path=raw, speed=1.0)
        run_ffmpeg(build_voice_finish_args(raw, out_path, sample_rate=self.sample_rate))
        duration = wav_duration(out_path)
        if duration > max_seconds:  # speak faster, within what still sounds natural
            speed = min(self.max_speedup, duration / max_seconds * 1.04)
            self.speak(text, language=language, voice=voice, out_path=raw, speed=speed)
            run_ffmpeg(build_voice_finish_args(raw, out_path, sample_rate=self.sample_rate))
            duration = wav_duration(out_path)
        if duration > max_seconds:  # last resort: compress time (pitch kept) and cut at the limit
            fitted = tmp / "fitted.wav"
            factor = duration / max_seconds * 1.01
            run_ffmpeg(
                build_tempo_args(out_path, fitted, factor=factor, max_seconds=max_seconds, sample_rate=self.sample_rate)
            )
            shutil.move(fitted, out_path)


@lru_cache(maxsize=1)
def espeak_variants() -> dict[str, str]:
    """espeak-ng voice variants (lower-case name -> name), e.g. 'f3', 'klatt', 'Alex'."""
    listing = run_command(["espeak-ng", "--voices=variant"])
    names = [line.split()[-1].removeprefix("!v/") for line in listing.splitlines()[1:] if line.strip()]
    return {name.lower(): name for name in names}


class EspeakVoice(RateFittedVoice):
    """espeak-ng: many languages, instant, robotic. `voice` is 'default' or an espeak variant (f3, klatt...)."""

    words_per_minute: int = 165
    max_words_per_minute: int = 280

    def espeak_voice(self, language: Language, voice: str) -> str:
        """The espeak-ng voice name for a language and variant; unknown variants fall back to the default."""
        base = ESPEAK_VOICES[language]
        if voice == "default":
            return base
        variant = espeak_variants().get(voice.lower())
        if variant is None:
            log.warning("espeak-ng has no voice variant %r; using the default voice", voice)
            return base
        return f"{base}+{variant}"

    def speak(self, text: str, *, language: Language, voice: str, out_path: Path, speed: float) -> None:
        rate = min(self.max_words_per_minute, round(self.words_per_minute * speed))
        args = ["espeak-ng", "-v", self.espeak_voice(language, voice), "-s", str(rate), "-w", str(out_path), "--stdin"]
        run_command(args, input_bytes=text.encode())

    def provider_name(self) -> str:
        return "espeak-ng"


@lru_cache(maxsize=2)
def _load_piper(model_path: str) -> Any:
    try:
        from piper import PiperVoice as PiperModel  # GPL-3.0: the optional [piper] extra, imported only here
    except ImportError as exc:
        raise VoiceUnavailableError(
            "PiperVoice needs the optional 'piper' extra (piper-tts, GPL-3.0): pip install 'nexus-video[piper]'"
        ) from exc
    return PiperModel.load(model_path)


class PiperVoice(RateFittedVoice):
    """Piper, a neural voice run locally from a .onnx model (NEXUS_PIPER_MODEL_PATH). A line in another
    language than the model's is spoken by espeak-ng instead."""

    model_path: str
    max_speedup: float = 1.5

    def model(self) -> Any:
        """The loaded Piper voice; a clear error when the model file or the package is missing."""
        path = Path(self.model_path) if self.model_path else None
        if path is None or not path.is_file() or not Path(f"{path}.json").is_file():
            raise VoiceUnavailableError(
                f"PiperVoice needs a voice model: set NEXUS_PIPER_MODEL_PATH to a Piper .onnx file with its "
                f".onnx.json beside it (got {self.model_path!r})"
            )
        return _load_piper(str(path))

    def speaks(self, language: Language) -> bool:
        """True when the model's language is the requested one (its espeak voice, e.g. 'en-us', says so)."""
        return str(self.model().config.espeak_voice).lower().startswith(language.value)

    def synthesize(self, text: str, *, language: Language, voice: str, out_path: Path, max_seconds: float) -> VoiceClip:
        if not self.speaks(language):
            log.info("Piper model %s does not speak %s; using espeak-ng", self.model_path, language.value)
            fallback = EspeakVoice(sample_rate=self.sample_rate)
            return fallback.synthesize(
                text, language=language, voice="default", out_path=out_path, max_seconds=max_seconds
            )
        return super().synthesize(text, language=language, voice=voice, out_path=out_path, max_seconds=max_seconds)

    def speak(self, text: str, *, language: Language, voice: str, out_path: Path, speed: float) -> None:
        from piper import SynthesisConfig

        model = self.model()
        config = SynthesisConfig(length_scale=model.config.length_scale / speed)
        with wave.open(str(out_path), "wb") as wav:  # format set up front: a line may yield no audio at all
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(model.config.sample_rate)
            model.synthesize_wav(text, wav, syn_config=config, set_wav_format=False)

    def provider_name(self) -> str:
        return "piper"
