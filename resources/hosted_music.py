"""Hosted music: ElevenLabs music composes the bed from a style prompt; the synthesizer takes over on failure."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from nexus_core import prompts
from nexus_core.hashing import stable_hash
from nexus_core.media.runner import run_ffmpeg
from nexus_core.models import Made, MusicStyle
from resources.elevenlabs_voice import build_decode_args, elevenlabs_client, elevenlabs_failure
from resources.music import MusicProvider, SynthMusic
from resources.provider_support import HostedProvider, ProviderUnavailableError, fallback_label

log = logging.getLogger(__name__)

MIN_LENGTH_MS = 3_000  # what the API accepts
MAX_LENGTH_MS = 600_000
FADE_OUT_S = 1.5


def build_bed_args(src: Path, out_path: Path, *, output_format: str, duration_s: float, sample_rate: int) -> list[str]:
    """ffmpeg args: a composed track to a 16-bit stereo WAV of exactly duration_s, padded with silence
    if short, faded out over its last seconds."""
    total = round(duration_s * sample_rate)
    fade = min(FADE_OUT_S, duration_s / 4)
    chain = f"aresample={sample_rate},apad,atrim=end_sample={total},afade=t=out:st={duration_s - fade:.3f}:d={fade:.3f}"
    decode = build_decode_args(src, out_path, output_format=output_format, sample_rate=sample_rate, channels=2)
    return [*decode[:-1], "-af", chain, str(out_path)]


class ElevenLabsMusic(MusicProvider, HostedProvider):
    """A bed composed by ElevenLabs music (instrumental, the style's prompt, the video's length); cached
    by (prompt, length, model, format, seed). Falls back to SynthMusic, and the result says so."""

    api_key: str = ""
    base_url: str | None = None
    model_id: str = "music_v1"
    output_format: str = "mp3_44100_128"
    sample_rate: int = 48000
    timeout_s: float = 300.0  # composing takes a while

    def endpoint(self) -> str:
        return f"elevenlabs-music:{self.base_url or 'default'}"

    def service_label(self) -> str:
        return f"elevenlabs-music:{self.model_id}"

    def provider_name(self) -> str:
        return self.service_label()

    def compose(self, style: MusicStyle, *, duration_s: float, seed: int, out_path: Path) -> Made[Path] | None:
        if style is MusicStyle.NONE:
            return None
        try:
            audio, label = self.track(style, duration_s=duration_s, seed=seed)
        except ProviderUnavailableError as exc:
            log.warning("ElevenLabs music failed (%s); synthesizing the bed", exc)
            fallback = SynthMusic(sample_rate=self.sample_rate)
            fallback.compose(style, duration_s=duration_s, seed=seed, out_path=out_path)
            label = fallback_label(fallback.provider_name(), self.service_label(), str(exc))
            return Made(out_path, label, fallback=True)
        with tempfile.TemporaryDirectory(prefix="nexus-music-") as tmp:
            src = Path(tmp) / "track.audio"
            src.write_bytes(audio)
            run_ffmpeg(build_bed_args(src, out_path, output_format=self.output_format, duration_s=duration_s,
                                      sample_rate=self.sample_rate))
        return Made(out_path, label)

    def track(self, style: MusicStyle, *, duration_s: float, seed: int) -> tuple[bytes, str]:
        """The composed audio and its provider label: from the cache, else from the API (paid)."""
        prompt = prompts.MUSIC_PROMPTS[style.value]
        length_ms = min(MAX_LENGTH_MS, max(MIN_LENGTH_MS, round(duration_s * 1000)))
        key = stable_hash("elevenlabs-music", prompt, length_ms, self.model_id, self.output_format, seed)
        cache = self.cache()
        cached = cache.read_bytes(key, ".audio") if cache else None
        if cached:
            return cached, f"{self.service_label()} (cached)"
        client = elevenlabs_client(self.api_key or "unset", self.base_url, self.timeout_s)

        def compose() -> bytes:
            chunks = client.music.compose(
                prompt=prompt,
                music_length_ms=length_ms,
                model_id=self.model_id,
                force_instrumental=True,
                output_format=self.output_format,  # type: ignore[arg-type]
                request_options={"max_retries": 0},
            )
            return b"".join(chunks)

        audio = self.call_api(compose, classify=elevenlabs_failure)
        if not audio:
            raise ProviderUnavailableError("ElevenLabs music answered with no audio")
        if cache:
            cache.write_bytes(key, ".audio", audio)
        return audio, self.service_label()
