"""What the catalog raises."""

from __future__ import annotations


class CatalogError(Exception):
    """Base of every catalog error."""


class VideoExists(CatalogError):
    """A video with this id is already in the catalog."""

    def __init__(self, video_id: str) -> None:
        super().__init__(f"video {video_id!r} already exists in the catalog")
        self.video_id = video_id


class VideoNotFound(CatalogError, LookupError):
    """No video with this id is in the catalog."""

    def __init__(self, video_id: str) -> None:
        super().__init__(f"video {video_id!r} is not in the catalog")
        self.video_id = video_id


class VideoCancelled(CatalogError):
    """The video was cancelled: its pipeline must stop, not report progress."""

    def __init__(self, video_id: str) -> None:
        super().__init__(f"video {video_id!r} was cancelled")
        self.video_id = video_id


class RunAlreadyFailed(CatalogError):
    """Another step of the same run already failed this video: later steps must not revive it."""

    def __init__(self, video_id: str, error: str | None) -> None:
        super().__init__(f"video {video_id!r} already failed in this run: {error or 'unknown error'}")
        self.video_id = video_id
