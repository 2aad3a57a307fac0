"""What a media file holds, from ffprobe's JSON, and whether an MP4 is faststart (moov before mdat)."""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from nexus_core.media.runner import run_command


@dataclass(frozen=True)
class MediaInfo:
    """The facts about one media file that the pipeline checks and reports."""

    path: str
    duration_s: float
    size_bytes: int
    format_name: str
    video_codec: str | None = None
    width: int = 0
    height: int = 0
    fps: float = 0.0
    frame_count: int = 0
    pix_fmt: str | None = None
    video_tag: str | None = None
    color_space: str | None = None
    audio_codec: str | None = None
    sample_rate: int = 0
    channels: int = 0
    faststart: bool = False
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def has_video(self) -> bool:
        return self.video_codec is not None

    @property
    def has_audio(self) -> bool:
        return self.audio_codec is not None


def _ffprobe_json(path: Path | str) -> dict[str, Any]:
    out = run_command(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", str(path)],
        timeout=120,
    )
    data: dict[str, Any] = json.loads(out or "{}")
    return data


def _rate(value: str | None) -> float:
    if not value or value in ("0/0", "0"):
        return 0.0
    try:
        return float(Fraction(value))
    except (ValueError, ZeroDivisionError):
        return 0.0


def _first(streams: list[dict[str, Any]], kind: str) -> dict[str, Any] | None:
    for stream in streams:
        disposition = stream.get("disposition") or {}
        if stream.get("codec_type") == kind and not disposition.get("attached_pic"):
            return stream
    return None


def count_frames(path: Path | str) -> int:
    """Frames in the first video stream, counted from its packets (exact; no decoding)."""
    out = run_command(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_packets",
         "-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", str(path)],
        timeout=300,
    )
    text = out.strip().split(",")[0].strip()
    return int(text) if text.isdigit() else 0


def probe(path: Path | str) -> MediaInfo:
    """Probe a file with ffprobe; raise MediaCommandError if it is not readable media."""
    data = _ffprobe_json(path)
    fmt = data.get("format") or {}
    streams = data.get("streams") or []
    video, audio = _first(streams, "video"), _first(streams, "audio")
    frames = 0
    if video is not None:
        nb = str(video.get("nb_frames", ""))
        frames = int(nb) if nb.isdigit() and int(nb) > 0 else count_frames(path)
    is_mp4 = "mp4" in str(fmt.get("format_name", "")) or "mov" in str(fmt.get("format_name", ""))
    return MediaInfo(
        path=str(path),
        duration_s=float(fmt.get("duration") or 0.0),
        size_bytes=int(fmt.get("size") or Path(path).stat().st_size),
        format_name=str(fmt.get("format_name", "")),
        video_codec=video.get("codec_name") if video else None,
        width=int(video.get("width", 0)) if video else 0,
        height=int(video.get("height", 0)) if video else 0,
        fps=_rate(video.get("avg_frame_rate") or video.get("r_frame_rate")) if video else 0.0,
        frame_count=frames,
        pix_fmt=video.get("pix_fmt") if video else None,
        video_tag=video.get("codec_tag_string") if video else None,
        color_space=video.get("color_space") if video else None,
        audio_codec=audio.get("codec_name") if audio else None,
        sample_rate=int(audio.get("sample_rate", 0) or 0) if audio else 0,
        channels=int(audio.get("channels", 0) or 0) if audio else 0,
        faststart=is_faststart(path) if is_mp4 else False,
        tags={str(k): str(v) for k, v in (fmt.get("tags") or {}).items()},
    )


def top_level_atoms(path: Path | str) -> list[tuple[str, int]]:
    """(type, size) of each top-level MP4 box, in file order, reading only the box headers."""
    atoms: list[tuple[str, int]] = []
    with open(path, "rb") as f:
        f.seek(0, 2)
        end = f.tell()
        offset = 0
        while offset + 8 <= end:
            f.seek(offset)
            size, kind = struct.unpack(">I4s", f.read(8))
            if size == 1:
                (size,) = struct.unpack(">Q", f.read(8))
            elif size == 0:
                size = end - offset
            if size < 8:
                break
            atoms.append((kind.decode("latin-1"), size))
            offset += size
    return atoms


def is_faststart(path: Path | str) -> bool:
    """Whether the MP4's moov box comes before its mdat box (playable while downloading)."""
    kinds = [kind for kind, _ in top_level_atoms(path)]
    if "moov" not in kinds:
        return False
    return "mdat" not in kinds or kinds.index("moov") < kinds.index("mdat")
