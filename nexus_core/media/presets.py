"""The one table of encoder presets, by quality."""

from __future__ import annotations

from dataclasses import dataclass

from nexus_core.models import Quality


@dataclass(frozen=True)
class EncoderPreset:
    """How one rendition is encoded. `name` is the rendition's file stem."""

    name: str
    codec: str  # ffmpeg encoder: libx264 | libx265
    crf: int
    preset: str  # x264 / x265 speed preset
    audio_bitrate_k: int
    pix_fmt: str = "yuv420p"

    @property
    def is_hevc(self) -> bool:
        return self.codec in ("libx265", "hevc_nvenc")


PRESETS: dict[Quality, tuple[EncoderPreset, ...]] = {
    Quality.STANDARD: (EncoderPreset("h264", "libx264", crf=25, preset="veryfast", audio_bitrate_k=128),),
    Quality.HD: (EncoderPreset("h264", "libx264", crf=22, preset="veryfast", audio_bitrate_k=160),),
    Quality.ULTRA: (
        EncoderPreset("h264", "libx264", crf=19, preset="fast", audio_bitrate_k=192),
        EncoderPreset("h265", "libx265", crf=22, preset="fast", audio_bitrate_k=192),
    ),
}


def presets_for(quality: Quality) -> tuple[EncoderPreset, ...]:
    """Renditions for a quality; the first one is the H.264 master codec."""
    return PRESETS[quality]


def master_preset(quality: Quality) -> EncoderPreset:
    """Scene clips are encoded once, at the H.264 rendition's final settings."""
    return PRESETS[quality][0]
