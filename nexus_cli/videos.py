"""`nexus list`, `nexus status ID`, `nexus cancel ID`, `nexus open ID`: a person's everyday questions.

They read the catalog (the local SQLite file by default, NEXUS_DATABASE_URL otherwise). In a terminal
they print a table or labelled lines; piped, stable tab-separated columns and one path per line, so
`nexus list | cut -f1` and `nexus open ID | xargs ls -l` work.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Table

from nexus_core.catalog import Catalog, VideoRecord
from nexus_core.models import VideoStatus
from nexus_core.run_tags import short_text
from nexus_core.settings import NexusSettings

LIST_COLUMNS = ("id", "status", "phase", "percent", "created_at", "duration_s", "title")
# The files `nexus open` lists, in this order (artifact names; renditions and thumbnails by prefix).
OPEN_ORDER = ("video", "video_", "captions_srt", "captions_vtt", "poster", "thumbnail_", "credits")


def register(subparsers: Any) -> None:
    """Add `nexus list`, `nexus status`, `nexus cancel` and `nexus open`."""
    listing = subparsers.add_parser("list", help="the videos in the catalog, newest first")
    listing.add_argument("--status", type=str.upper, choices=[s.value for s in VideoStatus],
                         help="only videos in this status")
    listing.add_argument("--user", help="only this user's videos (made through the API)")
    listing.add_argument("--limit", type=int, default=20, help="at most this many (default 20; 0: all)")
    listing.set_defaults(handler=run_list)

    status = subparsers.add_parser("status", help="where one video is: status, phase, timings, files, re-makes")
    status.add_argument("video_id")
    status.add_argument("--json", action="store_true", help="the whole catalog record as JSON")
    status.set_defaults(handler=run_status)

    cancel = subparsers.add_parser("cancel", help="cancel a QUEUED or PROCESSING video and stop its Dagster run")
    cancel.add_argument("video_id")
    cancel.set_defaults(handler=run_cancel)

    opener = subparsers.add_parser("open", help="print a finished video's files (one path per line); --open "
                                   "opens the video with the desktop's player")
    opener.add_argument("video_id")
    opener.add_argument("--open", action="store_true", dest="launch", help="open the video with xdg-open")
    opener.set_defaults(handler=run_open)


def _console() -> Console:
    return Console(soft_wrap=not sys.stdout.isatty(), highlight=False)


def _error(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def _catalog(settings: NexusSettings) -> Catalog:
    return Catalog(settings.catalog_url)


def _find(catalog: Catalog, video_id: str) -> VideoRecord | None:
    record = catalog.get(video_id)
    if record is None:
        print(f"error: no video {video_id!r} in the catalog at {catalog.url} (`nexus list` shows the videos)",
              file=sys.stderr)
    return record


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment is not None else "-"


def _about(record: VideoRecord) -> str:
    return record.title or short_text(record.request.prompt)


def list_rows(records: list[VideoRecord]) -> list[tuple[str, ...]]:
    """The LIST_COLUMNS of each video, as text."""
    return [
        (r.video_id, r.status.value, r.phase or "-", f"{r.percent:.0f}", r.created_at.isoformat(timespec="seconds"),
         f"{r.duration_s:.2f}" if r.duration_s is not None else "-", _about(r))
        for r in records
    ]


def run_list(args: argparse.Namespace) -> int:
    if args.limit < 0:
        return _error("--limit must be 0 (all) or more")
    catalog = _catalog(NexusSettings())
    try:
        records = catalog.list_videos(status=VideoStatus(args.status) if args.status else None, user_id=args.user,
                                      limit=args.limit or None)
    finally:
        catalog.close()
    rows = list_rows(records)
    if not sys.stdout.isatty():
        for row in rows:
            print("\t".join(cell.replace("\t", " ") for cell in row))
        return 0
    console = _console()
    if not rows:
        console.print("no videos yet: make one with `nexus generate \"a prompt\"`")
        return 0
    table = Table(*(c.replace("_", " ") for c in LIST_COLUMNS), box=None, pad_edge=False)
    for row in rows:
        table.add_row(*row)
    console.print(table)
    return 0


def status_lines(record: VideoRecord) -> list[tuple[str, str]]:
    """(label, value) pairs describing a video, in a fixed order."""
    lines = [
        ("id", record.video_id), ("status", record.status.value), ("phase", record.phase or "-"),
        ("percent", f"{record.percent:.0f}"), ("title", record.title or "-"),
        ("prompt", short_text(record.request.prompt, words=30, limit=200)), ("user", record.user_id or "-"),
        ("created", _when(record.created_at)), ("started", _when(record.started_at)),
        ("completed", _when(record.completed_at)),
    ]
    if record.error:
        lines.append(("error", record.error))
    if record.duration_s is not None:
        lines.append(("duration_s", f"{record.duration_s:.2f}"))
    if record.size_bytes is not None:
        lines.append(("bytes", str(record.size_bytes)))
    if record.phase_seconds:
        lines.append(("seconds", ", ".join(f"{a} {s:.1f}" for a, s in record.phase_seconds.items())))
    for remake in record.remakes:
        outcome = f"failed: {remake.error}" if remake.error else ("done" if remake.finished_at else "running")
        lines.append(("remade", f"{_when(remake.started_at)} {', '.join(remake.phases)} "
                                f"(run {remake.run_id or '-'}; {outcome})"))
    if record.dagster_run_id:
        lines.append(("run", record.dagster_run_id))
    return lines


def run_status(args: argparse.Namespace) -> int:
    catalog = _catalog(NexusSettings())
    try:
        record = _find(catalog, args.video_id)
    finally:
        catalog.close()
    if record is None:
        return 2
    if args.json:
        print(json.dumps(record.model_dump(mode="json"), ensure_ascii=False, indent=2))
        return 0
    if not sys.stdout.isatty():
        for label, value in status_lines(record):
            print(f"{label}\t{' '.join(value.split())}")
        return 0
    console = _console()
    colour = {"COMPLETED": "green", "FAILED": "red", "CANCELLED": "yellow"}.get(record.status.value, "cyan")
    for label, value in status_lines(record):
        shown = f"[{colour}]{value}[/]" if label == "status" else value
        console.print(f"[bold]{label:<10}[/] {shown}", markup=True)
    return 0


def run_cancel(args: argparse.Namespace) -> int:
    from nexus_cli.instance import prepare_instance
    from sensors.cancel import cancel_video

    settings = NexusSettings()
    catalog = _catalog(settings)
    try:
        record = _find(catalog, args.video_id)
        if record is None:
            return 2
        if record.is_final:
            print(f"video {record.video_id} is {record.status.value}: only a QUEUED or PROCESSING video can be "
                  "cancelled", file=sys.stderr)
            return 1
        # The API's cancel path: the catalog's transition, then the video's queued or running runs stopped.
        # Tokens it reserved are released by the API's next settlement (CANCELLED releases them).
        done = cancel_video(prepare_instance(settings), catalog, record.video_id)
        final = catalog.require(record.video_id)
    finally:
        catalog.close()
    if final.status is not VideoStatus.CANCELLED:
        print(f"video {final.video_id} became {final.status.value} before it could be cancelled", file=sys.stderr)
        return 1
    print(f"video {final.video_id}: CANCELLED ({', '.join(done)})")
    return 0


def _rank(name: str) -> int | None:
    for rank, prefix in enumerate(OPEN_ORDER):
        if name == prefix or (prefix.endswith("_") and name.startswith(prefix)):
            return rank
    return None


def video_files(record: VideoRecord) -> list[tuple[str, str]]:
    """(artifact name, key) of a video's published files, the main video first (video_h264 is `video`)."""
    names = [n for n in record.artifacts if n != "video_h264" and _rank(n) is not None]
    return [(n, record.artifacts[n]) for n in sorted(names, key=lambda n: (_rank(n) or 0, n))]


def run_open(args: argparse.Namespace) -> int:
    from resources import resources_for
    from resources.storage import LocalObjectStore

    settings = NexusSettings()
    catalog = _catalog(settings)
    try:
        record = _find(catalog, args.video_id)
    finally:
        catalog.close()
    if record is None:
        return 2
    if record.status is not VideoStatus.COMPLETED or "video" not in record.artifacts:
        print(f"video {record.video_id} is {record.status.value}: it has no files yet (`nexus status "
              f"{record.video_id}` says where it is)", file=sys.stderr)
        return 1
    store = (LocalObjectStore(root=str(settings.object_store_root)) if settings.environment == "local"
             else resources_for(settings.environment, settings)["store"])

    def where(key: str) -> str:
        return str(store.path_of(key)) if isinstance(store, LocalObjectStore) else store.url(key)

    files = [(name, where(key)) for name, key in video_files(record)]
    if sys.stdout.isatty():
        console = _console()
        for name, place in files:
            console.print(f"{name:<14} {place}")
    else:
        for _, place in files:
            print(place)
    if args.launch:
        opener = shutil.which("xdg-open")
        if opener is None:
            print("error: --open needs xdg-open (a desktop session); the paths are above", file=sys.stderr)
            return 1
        subprocess.Popen([opener, files[0][1]], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    return 0
