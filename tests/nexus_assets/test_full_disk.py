"""Issue 12.7: a disk that fills up while a video is published leaves nothing half-published.

The store is a real folder whose disk "fills" after N files (a LocalObjectStore that raises ENOSPC on
its N+1th write, as a full filesystem would): a fake disk, not a stand-in for our publishing code.
"""

from __future__ import annotations

import errno
from pathlib import Path

import pytest
from pydantic import PrivateAttr

from nexus_assets.finalization import publish_files, published_name
from nexus_core import storage_keys as keys
from nexus_core.publishing import PublishError, PublishItem
from resources.storage import LocalObjectStore


class FullDiskStore(LocalObjectStore):
    """A folder whose disk has room for `room` more files; later writes fail with ENOSPC."""

    room: int
    _used: int = PrivateAttr(default=0)

    def put_file(self, key: str, path: Path, *, content_type: str | None = None) -> int:
        if self._used >= self.room:
            target = self._path(key)
            raise OSError(errno.ENOSPC, "No space left on device", str(target))
        self._used += 1
        return super().put_file(key, path, content_type=content_type)


def _files(store: LocalObjectStore, video_id: str, work: Path) -> list[tuple[PublishItem, str | Path]]:
    """What finalization publishes: three thumbnails, a poster, credits, two captions, two videos."""
    files: list[tuple[PublishItem, str | Path]] = []
    for i in range(3):
        thumb = work / f"thumb_{i}.jpg"
        thumb.write_bytes(b"jpeg" * 100)
        files.append((PublishItem(keys.thumbnail(video_id, i), "image/jpeg", f"thumbnail_{i}"), thumb))
    poster = work / "poster.jpg"
    poster.write_bytes(b"poster")
    files.append((PublishItem(keys.poster(video_id), "image/jpeg", "poster"), poster))
    credits = work / "credits.txt"
    credits.write_text("music: none\n")
    files.append((PublishItem(keys.published(video_id, "credits.txt"), "text/plain", "credits"), credits))
    for ext in ("srt", "vtt"):
        source = work / f"captions.{ext}"
        source.write_text("1\n00:00:00,000 --> 00:00:01,000\nhello\n")
        store.put_file(keys.captions(video_id, ext), source)  # intermediate, written by encoding
        files.append((PublishItem(keys.published(video_id, f"captions.{ext}"), "text/plain", f"captions_{ext}"),
                      keys.captions(video_id, ext)))
    for name in ("h264", "h265"):
        source = work / f"{name}.mp4"
        source.write_bytes(b"\x00" * 2048)
        store.put_file(keys.rendition(video_id, name), source)
        files.append((PublishItem(keys.published(video_id, published_name(name)), "video/mp4", f"video_{name}"),
                      keys.rendition(video_id, name)))
    return files


def _published(store: LocalObjectStore, video_id: str) -> list[str]:
    intermediate = ("encoding/", "script/", "assets/", "compositing/", "rendering/")
    prefix = keys.video_prefix(video_id)
    return [k for k in store.list_keys(prefix) if not k[len(prefix):].startswith(intermediate)]


@pytest.mark.parametrize("room", [0, 3, 5, 8])
def test_a_full_disk_while_publishing_leaves_nothing_published(tmp_path: Path, room: int) -> None:
    video_id = "fulldisk01"
    work = tmp_path / "work"
    work.mkdir()
    setup = LocalObjectStore(root=str(tmp_path / "store"))
    files = _files(setup, video_id, work)
    store = FullDiskStore(root=str(tmp_path / "store"), room=room)
    with pytest.raises(PublishError) as failure:
        publish_files(store, files, work)
    assert _published(store, video_id) == []  # no captions, no thumbnails, no video: nothing half-made
    message = str(failure.value)
    assert "no space left" in message
    assert str(tmp_path) not in message and "/" not in message  # no server path reaches a client
    # the intermediate files stay for a re-make (the retention policy removes them later)
    assert store.exists(keys.rendition(video_id, "h264"))


def test_publishing_with_room_publishes_everything_video_last(tmp_path: Path) -> None:
    video_id = "roomy01"
    work = tmp_path / "work"
    work.mkdir()
    store = LocalObjectStore(root=str(tmp_path / "store"))
    files = _files(store, video_id, work)
    artifacts, sizes = publish_files(store, files, work)
    assert sorted(_published(store, video_id)) == sorted(item.key for item, _ in files)
    assert artifacts["video_h264"] == keys.published(video_id, "video.mp4")
    assert sizes[keys.published(video_id, "video.mp4")] == 2048
    times = {k: store.path_of(k).stat().st_mtime_ns for k in _published(store, video_id)}
    assert max(times, key=lambda k: times[k]) == keys.published(video_id, "video.mp4")  # visible last
