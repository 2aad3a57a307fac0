"""NVIDIA GPU encoding (NVENC): detected by a real one-frame encode, never assumed, with a clean CPU fallback.

The GPU twins of the CPU presets and their quality mapping are a table in nexus_core.media.presets; the
arguments come from nexus_core.media.ffmpeg_args like every other encode. Detection lists the encoder and
then encodes one generated frame with it: ffmpeg builds often list h264_nvenc where no NVENC exists (no
driver, or a GPU without the engine: the Hopper H100/H200 and A100 data-centre parts have none), and only the
test encode tells. A rendition whose NVENC encode still fails is encoded again on the CPU, with a warning.
"""

from __future__ import annotations

import functools
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

from nexus_core.media.ffmpeg_args import quality_args
from nexus_core.media.presets import DEFAULT_NVENC_PRESET, NVENC_CODECS, NVENC_PRESETS, EncoderPreset
from nexus_core.media.runner import MediaCommandError, MissingToolError, run_command, tool_path

GpuMode = Literal["auto", "on", "off"]
GPU_MODES: tuple[str, ...] = ("auto", "on", "off")
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
    return codec in NVENC_CODECS.values()


def gpu_variant(preset: EncoderPreset) -> EncoderPreset:
    """The NVENC twin of a libx264/libx265 preset (same name, quality number, audio and pixel format)."""
    if preset.is_nvenc:
        return preset
    codec = NVENC_CODECS.get(preset.codec)
    if codec is None:
        raise ValueError(f"no NVENC encoder for {preset.codec!r} (known: {', '.join(NVENC_CODECS)})")
    return replace(preset, codec=codec, preset=NVENC_PRESETS.get(preset.preset, DEFAULT_NVENC_PRESET))


def build_nvenc_probe_args(preset: EncoderPreset) -> list[str]:
    """ffmpeg arguments that encode one generated frame with the preset's settings and discard it."""
    return ["-hide_banner", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", PROBE_SOURCE,
            "-frames:v", "1", *quality_args(preset), "-pix_fmt", preset.pix_fmt, "-f", "null", "-"]


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


def encode_with_fallback(
    preset: EncoderPreset,
    *,
    fallback: EncoderPreset,
    build: Callable[[EncoderPreset], list[str]],
    run: Callable[[list[str]], None],
    warn: Callable[[str], None],
) -> EncoderPreset:
    """Encode with `preset`; when it is NVENC and the encode fails, warn and encode with the CPU `fallback`.

    `build` turns a preset into ffmpeg arguments, `run` runs them (raising MediaCommandError on failure).
    Returns the preset the output was made with. CPU encodes are not retried: their failure is the video's.
    """
    try:
        run(build(preset))
        return preset
    except MediaCommandError as exc:
        if not preset.is_nvenc:
            raise
        warn(f"{preset.codec} failed for rendition {preset.name!r}; encoding it with {fallback.codec} instead. {exc}")
    run(build(fallback))
    return fallback
