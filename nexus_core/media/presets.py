"""The one table of encoder presets, by quality."""

from __future__ import annotations

from dataclasses import dataclass

from nexus_core.models import Quality


@dataclass(frozen=True)
class EncoderPreset:
    """How one rendition is encoded. `name` is the rendition's file stem."""

    name: str
    codec: str  # ffmpeg encoder: libx264 | libx265, or their NVENC twins h264_nvenc | hevc_nvenc
    crf: int  # x264/x265 -crf, or NVENC's constant-quality -cq (the same 0-51 scale)
    preset: str  # x264 / x265 speed preset, or NVENC's p1..p7
    audio_bitrate_k: int
    pix_fmt: str = "yuv420p"

    @property
    def is_hevc(self) -> bool:
        return self.codec in ("libx265", "hevc_nvenc")

    @property
    def is_nvenc(self) -> bool:
        return self.codec in NVENC_CODECS.values()


PRESETS: dict[Quality, tuple[EncoderPreset, ...]] = {
    Quality.STANDARD: (EncoderPreset("h264", "libx264", crf=25, preset="veryfast", audio_bitrate_k=128),),
    Quality.HD: (EncoderPreset("h264", "libx264", crf=22, preset="veryfast", audio_bitrate_k=160),),
    Quality.ULTRA: (
        EncoderPreset("h264", "libx264", crf=19, preset="fast", audio_bitrate_k=192),
        EncoderPreset("h265", "libx265", crf=22, preset="fast", audio_bitrate_k=192),
    ),
}


# The GPU twins of the table above (nexus_core.media.hardware.gpu_variant applies them):
# - codec: libx264 -> h264_nvenc, libx265 -> hevc_nvenc.
# - quality: `-crf N` -> `-rc vbr -cq N -b:v 0` (constant quality, no bitrate cap). Both use the same 0-51
#   quantizer scale; at equal N NVENC looks alike with somewhat larger files (no psy-rd or mb-tree), so the
#   number is kept and the quality column above stays the one source of quality.
# - speed: the x264/x265 preset -> NVENC p1 (fastest) .. p7 (slowest, best) by its place on the ladder, `-tune hq`.
NVENC_CODECS: dict[str, str] = {"libx264": "h264_nvenc", "libx265": "hevc_nvenc"}
NVENC_PRESETS: dict[str, str] = {
    "ultrafast": "p1", "superfast": "p1", "veryfast": "p2", "faster": "p3", "fast": "p4",
    "medium": "p5", "slow": "p6", "slower": "p7", "veryslow": "p7", "placebo": "p7",
}
DEFAULT_NVENC_PRESET = "p4"
NVENC_TUNE = "hq"


def presets_for(quality: Quality) -> tuple[EncoderPreset, ...]:
    """Renditions for a quality; the first one is the H.264 master codec."""
    return PRESETS[quality]


def master_preset(quality: Quality) -> EncoderPreset:
    """Scene clips are encoded once, at the H.264 rendition's final settings."""
    return PRESETS[quality][0]
