"""ElevenLabs voices: text-to-speech with character timestamps, so subtitles follow the real speech;
espeak-ng takes over while the API is down."""

from __future__ import annotations

import base64
import logging
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import httpx
from elevenlabs.client import ElevenLabs
from elevenlabs.core.api_error import ApiError
from pydantic import Field

from nexus_core.hashing import stable_hash
from nexus_core.media.audio import build_tempo_args, wav_duration, write_silence
from nexus_core.media.runner import run_ffmpeg
from nexus_core.models import Language, VoiceClip, WordTiming
from nexus_core.resilience import ApiFailure
from resources.provider_support import HostedProvider, ProviderUnavailableError, fallback_label, shared_limit
from resources.voice import SILENT_CLIP_S, EspeakVoice, VoiceSynth

log = logging.getLogger(__name__)

TEMPO_MARGIN = 1.01  # compress a little more than needed, so the cut at max_seconds loses nothing
_RAW_INPUTS = {"pcm": "s16le", "ulaw": "mulaw", "alaw": "alaw"}  # headerless output formats -> ffmpeg demuxer


def elevenlabs_failure(exc: BaseException) -> ApiFailure | None:
    """How an ElevenLabs SDK call failed; None for anything that is not an API failure."""
    if isinstance(exc, ApiError):
        return ApiFailure(exc.status_code, dict(exc.headers or {}))
    if isinstance(exc, httpx.TransportError):  # timeouts and refused connections: no answer
        return ApiFailure(None)
    return None


@lru_cache(maxsize=8)
def elevenlabs_client(api_key: str, base_url: str | None, timeout_s: float) -> ElevenLabs:
    """One SDK client (and its connection pool) per key and endpoint, shared by threads."""
    return ElevenLabs(api_key=api_key, base_url=base_url, timeout=timeout_s)


def build_decode_args(
    src: Path, out_path: Path, *, output_format: str, sample_rate: int, channels: int = 1
) -> list[str]:
    """ffmpeg args: an ElevenLabs audio file (mp3/opus/wav, or headerless pcm/ulaw/alaw named by its
    output format such as 'pcm_24000') to 16-bit PCM WAV at sample_rate."""
    codec, _, rate = output_format.partition("_")
    raw = ["-f", _RAW_INPUTS[codec], "-ar", rate.split("_")[0], "-ac", "1"] if codec in _RAW_INPUTS else []
    return [*raw, "-i", str(src), "-ac", str(channels), "-ar", str(sample_rate), "-c:a", "pcm_s16le", str(out_path)]


def words_from_alignment(alignment: Mapping[str, Sequence[Any]]) -> list[WordTiming]:
    """Word timings from ElevenLabs' per-character timings: a word runs from its first character's start
    to its last character's end; whitespace separates words, punctuation stays with its word."""
    characters: Sequence[str] = alignment["characters"]
    starts: Sequence[float] = alignment["character_start_times_seconds"]
    ends: Sequence[float] = alignment["character_end_times_seconds"]
    words: list[WordTiming] = []
    current: list[int] = []
    for index, char in enumerate([*characters, " "]):
        if not char.isspace():
            current.append(index)
            continue
        if current:
            text = "".join(characters[i] for i in current)
            words.append(WordTiming(word=text, start_s=float(starts[current[0]]), end_s=float(ends[current[-1]])))
            current = []
    return words


def fit_words(words: Sequence[WordTiming], *, factor: float, limit_s: float) -> list[WordTiming]:
    """Word timings after the audio was sped up by `factor` and cut at limit_s (words past it dropped)."""
    fitted: list[WordTiming] = []
    for word in words:
        start, end = word.start_s / factor, min(word.end_s / factor, limit_s)
        if start < limit_s:
            fitted.append(WordTiming(word=word.word, start_s=round(start, 3), end_s=round(max(start, end), 3)))
    return fitted


class ElevenLabsVoice(VoiceSynth, HostedProvider):
    """Speaks a line with ElevenLabs (voice and model from settings) and returns its word timings.

    Responses are cached by (text, voice, model, format), so a retry or a re-materialization never pays
    twice; lines too long for their scene are time-compressed locally, with the timings scaled to match.
    At most `concurrency` requests run at once in this process (the plan's limit).
    """

    api_key: str = ""
    base_url: str | None = None  # unset: api.elevenlabs.io
    voice_id: str = "21m00Tcm4TlvDq8ikWAM"
    voice_ids: dict[str, str] = Field(default_factory=dict)  # a request's voice name -> voice id; else voice_id
    model_id: str = "eleven_multilingual_v2"
    output_format: str = "mp3_44100_128"
    sample_rate: int = 44100
    concurrency: int = 2

    def endpoint(self) -> str:
        return f"elevenlabs:{self.base_url or 'default'}"

    def provider_name(self) -> str:
        return f"elevenlabs:{self.model_id}/{self.voice_id}"

    def synthesize(
        self,
        text: str,
        *,
        language: Language,
        voice: str,
        out_path: Path,
        max_seconds: float,
        phrase_chars: int = 84,  # accepted for the interface; the whole line is one request
    ) -> VoiceClip:
        if max_seconds <= 0:
            raise ValueError(f"max_seconds must be positive, got {max_seconds}")
        out_path = Path(out_path)
        if not text.strip():
            write_silence(out_path, min(SILENT_CLIP_S, max_seconds), sample_rate=self.sample_rate)
            duration = wav_duration(out_path)
            return VoiceClip(duration_s=duration, sample_rate=self.sample_rate, provider=self.provider_name())
        voice_id = self.voice_ids.get(voice, self.voice_id)
        try:
            audio, alignment = self.speech(text, voice_id)
        except ProviderUnavailableError as exc:
            log.warning("ElevenLabs failed (%s); speaking with espeak-ng", exc)
            clip = EspeakVoice().synthesize(
                text, language=language, voice="default", out_path=out_path, max_seconds=max_seconds
            )
            label = fallback_label(clip.provider, self.provider_name(), str(exc))
            return clip.model_copy(update={"provider": label, "fallback": True})
        return self._fit(audio, words_from_alignment(alignment), out_path, max_seconds)

    def cache_key(self, text: str, voice_id: str) -> str:
        return stable_hash("elevenlabs-tts", text, voice_id, self.model_id, self.output_format)

    def speech(self, text: str, voice_id: str) -> tuple[bytes, dict[str, Any]]:
        """The audio bytes and character alignment of a line: from the cache, else from the API (paid)."""
        key = self.cache_key(text, voice_id)
        cache = self.cache()
        entry = cache.read_json(key) if cache else None
        audio = cache.read_bytes(key, ".audio") if cache and entry else None
        if entry is not None and audio is not None:
            return audio, entry["alignment"]
        client = elevenlabs_client(self.api_key or "unset", self.base_url, self.timeout_s)
        response = self.call_api(
            lambda: client.text_to_speech.convert_with_timestamps(
                voice_id,
                text=text,
                model_id=self.model_id,
                output_format=self.output_format,  # type: ignore[arg-type]
                request_options={"max_retries": 0},  # ours honour Retry-After and feed the breaker
            ),
            classify=elevenlabs_failure,
            limit=shared_limit(self.endpoint(), self.concurrency),
        )
        timing = response.alignment or response.normalized_alignment
        if timing is None:
            raise ProviderUnavailableError("ElevenLabs answered without character timestamps")
        audio = base64.b64decode(response.audio_base_64)
        alignment = timing.model_dump(include={"characters", "character_start_times_seconds",
                                               "character_end_times_seconds"})
        if cache:
            cache.write_bytes(key, ".audio", audio)
            cache.write_json(key, {"voice_id": voice_id, "model_id": self.model_id,
                                   "output_format": self.output_format, "alignment": alignment})
        return audio, alignment

    def _fit(self, audio: bytes, words: list[WordTiming], out_path: Path, max_seconds: float) -> VoiceClip:
        """Decode to WAV; when longer than max_seconds, speed it up (pitch kept) and scale the timings."""
        with tempfile.TemporaryDirectory(prefix="nexus-elevenlabs-") as tmp:
            src, wav = Path(tmp) / "speech.audio", Path(tmp) / "speech.wav"
            src.write_bytes(audio)
            run_ffmpeg(build_decode_args(src, wav, output_format=self.output_format, sample_rate=self.sample_rate))
            duration = wav_duration(wav)
            factor = 1.0
            if duration > max_seconds:
                factor = duration / max_seconds * TEMPO_MARGIN
                run_ffmpeg(build_tempo_args(wav, out_path, factor=factor, max_seconds=max_seconds,
                                            sample_rate=self.sample_rate))
            else:
                shutil.move(wav, out_path)
        duration = wav_duration(out_path)
        return VoiceClip(
            duration_s=duration,
            sample_rate=self.sample_rate,
            words=fit_words(words, factor=factor, limit_s=duration),
            provider=self.provider_name(),
        )
