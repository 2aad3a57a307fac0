"""NVIDIA GPU encoding (NVENC): detected, never assumed, and mapped from the CPU presets.

Mapping of the quality table (nexus_core.media.presets) onto NVENC:

- codec: libx264 -> h264_nvenc, libx265 -> hevc_nvenc.
- quality: x264/x265 `-crf N` -> NVENC `-rc vbr -cq N -b:v 0` (constant quality, no bitrate cap). Both are
  on the same 0-51 quantizer scale; at equal N NVENC gives similar visual quality with somewhat larger
  files (no psy-rd or mb-tree), so the number is kept and the table stays the one source of quality.
- speed: x264/x265 preset -> NVENC p1 (fastest) .. p7 (slowest, best) by the same place on the speed
  ladder (veryfast -> p2, fast -> p4, medium -> p5, ...), with `-tune hq`.
- unchanged: pix_fmt, GOP, BT.709 tags, the hvc1 tag for HEVC (EncoderPreset.is_hevc covers hevc_nvenc).
"""

from __future__ import annotations

import functools
import subprocess
from dataclasses import dataclass, replace
from typing import Literal

from nexus_core.media.presets import EncoderPreset
from nexus_core.media.runner import MediaCommandError, MissingToolError, run_command, tool_path

GpuMode = Literal["auto", "on", "off"]
NVENC_CODECS: dict[str, str] = {"libx264": "h264_nvenc", "libx265": "hevc_nvenc"}
NVENC_PRESETS: dict[str, str] = {
    "ultrafast": "p1", "superfast": "p1", "veryfast": "p2", "faster": "p3", "fast": "p4",
    "medium": "p5", "slow": "p6", "slower": "p7", "veryslow": "p7", "placebo": "p7",
}
DEFAULT_NVENC_PRESET = "p4"
PROBE_TIMEOUT_S = 30.0
PROBE_SOURCE = "color=c=gray:s=256x144:r=25:d=0.04"  # one frame, above NVENC's minimum size


class GpuEncodingUnavailable(RuntimeError):
    """GPU encoding was required (NEXUS_GPU_ENCODING=on) but NVENC does not work on this machine."""


@dataclass(frozen=True)
class NvencStatus:
    """Whether one NVENC encoder works here, and why not when it does not."""

    codec: str
    available: bool
    reason: str = ""


def is_nvenc(codec: str) -> bool:
    return codec.endswith("_nvenc")


def gpu_variant(preset: EncoderPreset) -> EncoderPreset:
    """The NVENC twin of a libx264/libx265 preset (same name, quality number, audio and pixel format)."""
    if is_nvenc(preset.codec):
        return preset
    codec = NVENC_CODECS.get(preset.codec)
    if codec is None:
        raise ValueError(f"no NVENC encoder for {preset.codec!r} (known: {', '.join(NVENC_CODECS)})")
    return replace(preset, codec=codec, preset=NVENC_PRESETS.get(preset.preset, DEFAULT_NVENC_PRESET))


def nvenc_quality_args(preset: EncoderPreset) -> list[str]:
    """Encoder, speed and constant-quality rate control for an NVENC preset (in place of `-crf`)."""
    return ["-c:v", preset.codec, "-preset", preset.preset, "-tune", "hq",
            "-rc", "vbr", "-cq", str(preset.crf), "-b:v", "0"]


def build_nvenc_probe_args(preset: EncoderPreset) -> list[str]:
    """ffmpeg arguments that encode one generated frame with the preset's settings and discard it."""
    return ["-hide_banner", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", PROBE_SOURCE,
            "-frames:v", "1", *nvenc_quality_args(preset), "-pix_fmt", preset.pix_fmt, "-f", "null", "-"]


@functools.cache
def _probe(ffmpeg: str, codec: str) -> NvencStatus:
    source = next(cpu for cpu, gpu in NVENC_CODECS.items() if gpu == codec)
    preset = gpu_variant(EncoderPreset("probe", source, crf=23, preset="fast", audio_bitrate_k=128))
    try:
        listed = run_command([ffmpeg, "-hide_banner", "-encoders"], timeout=PROBE_TIMEOUT_S)
        if not any(line.split()[1:2] == [codec] for line in listed.splitlines()):
            return NvencStatus(codec, False, f"{ffmpeg} has no {codec} encoder")
        run_command([ffmpeg, *build_nvenc_probe_args(preset)], timeout=PROBE_TIMEOUT_S)
    except (MediaCommandError, subprocess.TimeoutExpired) as exc:
        return NvencStatus(codec, False, f"a one-frame {codec} test encode failed: {exc}")
    return NvencStatus(codec, True)


def detect_nvenc(codec: str = "h264_nvenc") -> NvencStatus:
    """Whether ffmpeg lists the NVENC encoder and a one-frame test encode succeeds (cached per process)."""
    if codec not in NVENC_CODECS.values():
        raise ValueError(f"unknown NVENC encoder {codec!r} (known: {', '.join(NVENC_CODECS.values())})")
    try:
        return _probe(tool_path("ffmpeg"), codec)
    except MissingToolError as exc:
        return NvencStatus(codec, False, str(exc))


def clear_detection_cache() -> None:
    """Forget earlier detections (tests; a driver installed while the process runs)."""
    _probe.cache_clear()


def encoder_preset(preset: EncoderPreset, mode: GpuMode) -> EncoderPreset:
    """The preset to encode with: 'off' CPU; 'auto' NVENC when it works here; 'on' NVENC or an error."""
    if mode not in ("auto", "on", "off"):
        raise ValueError(f"GPU encoding mode must be auto, on or off, got {mode!r}")
    if mode == "off" or preset.codec not in NVENC_CODECS:
        return preset
    variant = gpu_variant(preset)
    status = detect_nvenc(variant.codec)
    if status.available:
        return variant
    if mode == "on":
        raise GpuEncodingUnavailable(f"NEXUS_GPU_ENCODING=on but {variant.codec} is not usable here: {status.reason}")
    return preset
