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


class PublishError(RuntimeError):
    """The video could not be published; nothing of it is visible. The message holds no server path."""


@dataclass(frozen=True)
class PublishItem:
    """One file to publish: its final key, content type, and its name in the catalog's artifacts."""

    key: str
    content_type: str
    artifact: str


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
