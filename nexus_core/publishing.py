"""Publishing a finished video: which files go to their final keys, in what order, and what a client is
told when it fails.

All or nothing: the files are written one by one (videos last, the H.264 one at the very end), and when a
write fails (a full disk, a store that refuses) every file this attempt already wrote is deleted again, so
`videos/{id}/` never shows half a video. The error says what went wrong in words (`no space left on
device`) and never names a server path.

Policy for a video that FAILED: its intermediate files (script, assets, scenes, master, renditions) stay in
the store so a re-make reuses them instead of paying again; the retention sensor (sensors/maintenance.py,
KAFKA_RETENTION_DAYS, 30 days by default) removes the partition and every intermediate file of a final
video, FAILED ones included, once it is that old. Scratch folders of a run that died go when run
monitoring fails the run (resources/local_run_launcher.py) or the run-failure sensor sees it.
"""

from __future__ import annotations

import errno as errnos
import os
from dataclasses import dataclass
from pathlib import Path

from nexus_core import storage_keys as keys

CAPTION_FORMATS = ("srt", "vtt")  # the caption files made for every video, by extension
MAIN_RENDITION = "h264"  # published as video.mp4, the file every player reads


class PublishError(RuntimeError):
    """The video could not be published; nothing of it is visible. The message holds no server path."""


@dataclass(frozen=True)
class PublishItem:
    """One file to publish: its final key, content type, and its name in the catalog's artifacts."""

    key: str
    content_type: str
    artifact: str


def caption_content_type(ext: str) -> str:
    """The content type a caption file is stored and served with."""
    return "text/vtt" if ext == "vtt" else "text/plain"


def published_name(rendition: str) -> str:
    """video.mp4 for the H.264 rendition, video.<name>.mp4 for the others."""
    return "video.mp4" if rendition == MAIN_RENDITION else f"video.{rendition}.mp4"


Source = str | Path  # a local file, or the store key of an intermediate file to copy


def publish_plan(
    video_id: str,
    *,
    thumbnails: list[tuple[str, Path]],
    poster: tuple[str, Path],
    credits: Path,
    captions: dict[str, str],
    renditions: list[tuple[str, str]],
) -> list[tuple[PublishItem, Source]]:
    """Every file of a finished video with its final key, content type and artifact name, and its source.

    Args:
        thumbnails: (final key, local file) of each thumbnail, in order.
        poster: (final key, local file) of the poster.
        credits: the local credits.txt.
        captions: caption extension -> store key of the encoded caption file.
        renditions: (rendition name, store key) of each encoded MP4.
    """
    return [
        *[(PublishItem(key, "image/jpeg", f"thumbnail_{i}"), path) for i, (key, path) in enumerate(thumbnails)],
        (PublishItem(poster[0], "image/jpeg", "poster"), poster[1]),
        (PublishItem(keys.published(video_id, "credits.txt"), "text/plain", "credits"), credits),
        *[(PublishItem(keys.published(video_id, f"captions.{ext}"), caption_content_type(ext), f"captions_{ext}"),
           key) for ext, key in captions.items()],
        *[(PublishItem(keys.published(video_id, published_name(name)), "video/mp4", f"video_{name}"), key)
          for name, key in renditions],
    ]


def publish_order(items: list[PublishItem]) -> list[PublishItem]:
    """Everything but the videos first, then the videos with `video.mp4` (the H.264 one) last: a reader
    that sees video.mp4 sees every other file of the video."""
    def rank(item: PublishItem) -> int:
        if item.content_type != "video/mp4":
            return 0
        return 2 if item.key.endswith("/video.mp4") else 1

    return sorted(items, key=rank)


def describe_storage_error(exc: BaseException) -> str:
    """What went wrong in words a client may see: the OS error's text without the file it was about."""
    if isinstance(exc, OSError) and exc.errno:
        if exc.errno == errnos.ENOSPC:
            return "no space left on the video store"
        return os.strerror(exc.errno).lower()
    return f"the video store refused a write ({type(exc).__name__})"
