"""`nexus`: generate a video, open the Dagster UI, reprocess videos with a backfill."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from enum import Enum

from pydantic import ValidationError
from rich.console import Console

from nexus_cli.settings_errors import BadSetting, load_settings
from nexus_core.logs import configure_logging
from nexus_core.models import (
    FRAME_RATES,
    Aspect,
    CaptionStyle,
    Language,
    MusicStyle,
    Quality,
    Resolution,
    VideoRequest,
    VideoStatus,
    describe_validation_error,
)
from nexus_core.phases import PHASES
from nexus_core.settings import NexusSettings

CLI_FLAGS = {
    "prompt": "prompt",
    "duration_seconds": "--duration",
    "frame_rate": "--fps",
    "music_style": "--music",
    "quality": "--quality",
    "resolution": "--resolution",
    "aspect": "--aspect",
    "language": "--language",
    "voice": "--voice",
    "caption_style": "--captions",
}
# Modules with `register(subparsers)` adding their own subcommands; each sets `handler=fn(args) -> int`.
EXTRA_COMMAND_MODULES: tuple[str, ...] = ("nexus_cli.api_commands", "nexus_cli.k8s", "nexus_cli.up", "nexus_cli.voices",
                                          "nexus_cli.metrics_exporter", "nexus_cli.videos")


def _values(enum: type[Enum]) -> str:
    return ", ".join(str(e.value) for e in enum)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nexus", description="Nexus Video: a prompt in, a finished MP4 out.")
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser("generate", help="make a video from a prompt (runs the six phases in Dagster)")
    gen.add_argument("prompt", help="what the video is about")
    gen.add_argument("--duration", type=int, default=30, help="seconds, 5-600 (default 30)")
    gen.add_argument("--quality", default="HD", help=f"{_values(Quality)} (default HD)")
    gen.add_argument("--resolution", default="720p", help=f"short side: {_values(Resolution)} (default 720p)")
    gen.add_argument("--aspect", default="16:9", help=f"{_values(Aspect)} (default 16:9)")
    gen.add_argument("--fps", default="30", help=f"{', '.join(map(str, FRAME_RATES))} (default 30)")
    gen.add_argument("--music", default="ambient", help=f"{_values(MusicStyle)} (default ambient)")
    gen.add_argument("--language", default=None,
                     help=f"{_values(Language)} (default: en, or the language a non-Latin prompt is written in)")
    gen.add_argument("--captions", default="phrase",
                     help=f"{_values(CaptionStyle)}: whole phrases, the spoken word highlighted, or none "
                     "(default phrase)")
    gen.add_argument("--voice", default="default", help="voice name (default: the language's default voice)")

    ui = sub.add_parser("ui", help="start the Dagster UI and daemon on 127.0.0.1")
    ui.add_argument("--port", type=int, default=3000)

    back = sub.add_parser("backfill", help="re-materialize a phase and everything downstream for chosen videos")
    back.add_argument("--phase", required=True, choices=PHASES)
    back.add_argument("--status", choices=[s.value for s in VideoStatus], help="only videos in this status")
    back.add_argument("--since", help="only videos created on or after this date (YYYY-MM-DD)")
    back.add_argument("--video", action="append", dest="videos", metavar="ID", help="a video id (repeatable)")
    back.add_argument("--wait", action="store_true", help="wait until the backfill finishes (needs the daemon)")
    back.add_argument("--timeout", type=float, default=3600.0, help="seconds to wait with --wait")

    for module_name in EXTRA_COMMAND_MODULES:
        importlib.import_module(module_name).register(sub)
    return parser


def parse_request(args: argparse.Namespace) -> VideoRequest:
    """The flags as the request's raw fields; VideoRequest's validation is the one judge of their values."""
    fields: dict[str, object] = {
        "prompt": args.prompt, "duration_seconds": args.duration, "quality": args.quality.upper(),
        "resolution": args.resolution.lower(), "aspect": args.aspect,
        "frame_rate": int(args.fps) if str(args.fps).isdigit() else args.fps,
        "music_style": args.music.lower(), "voice": args.voice, "caption_style": str(args.captions).lower(),
    }
    if args.language:  # absent: the request's default, or the language a non-Latin prompt is written in
        fields["language"] = args.language.lower()
    return VideoRequest.model_validate(fields)


def parse_since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise SystemExit(f"nexus backfill: --since {value!r} is not a date (use YYYY-MM-DD)") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(service=f"nexus {args.command}")  # once per process: text in a terminal, JSON in pods
    console = Console(stderr=False, soft_wrap=not sys.stdout.isatty())  # piped: one path per line, unwrapped
    try:
        settings = load_settings(NexusSettings, NexusSettings)
    except BadSetting as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.command == "generate":
        try:
            request = parse_request(args)
        except ValidationError as exc:
            for field, message in describe_validation_error(exc):
                console.print(f"[red]error[/]: {CLI_FLAGS.get(field, field)}: {message}")
            return 2
        from nexus_cli.generate import generate

        return generate(settings, request, console)
    if args.command == "ui":
        from nexus_cli.instance import prepare_instance
        from nexus_cli.ui import run_ui

        prepare_instance(settings)
        return run_ui(port=args.port)
    if args.command == "backfill":
        return _backfill(args, settings, console)
    handler = getattr(args, "handler", None)
    if handler is None:
        return 2
    return int(handler(args))


def _backfill(args: argparse.Namespace, settings: NexusSettings, console: Console) -> int:
    from nexus_cli.backfill import (
        NothingToBackfill,
        backfill_daemon_running,
        launch_backfill,
        owners,
        select_videos,
        wait_for_backfill,
    )
    from nexus_cli.instance import prepare_instance
    from nexus_core.catalog import Catalog

    instance = prepare_instance(settings)
    catalog = Catalog(settings.catalog_url)
    try:
        ids = select_videos(
            catalog, status=VideoStatus(args.status) if args.status else None,
            since=parse_since(args.since), video_ids=args.videos,
        )
    except NothingToBackfill as exc:
        console.print(f"[red]error[/]: {exc}")
        return 2
    backfill_ids = []
    for user_id, user_videos in owners(catalog, ids).items():  # one per owner: runs carry nexus/user
        backfill_id = launch_backfill(instance, phase=args.phase, video_ids=user_videos, user_id=user_id)
        backfill_ids.append(backfill_id)
        console.print(f"backfill {backfill_id}: phase {args.phase} and downstream for {len(user_videos)} video(s)")
    console.print("it runs in the Dagster daemon (`nexus ui` starts one); see the UI's Backfills page")
    if args.wait and not backfill_daemon_running(instance):
        console.print(
            "[red]error[/]: no Dagster daemon is running, so --wait would wait for nothing: start one with "
            "`nexus ui` (or `nexus up`); the backfill is queued and runs as soon as it does"
        )
        return 1
    if args.wait:
        ok = True
        for backfill_id in backfill_ids:
            status = wait_for_backfill(instance, backfill_id, timeout_s=args.timeout)
            console.print(f"backfill {backfill_id}: {status.value}")
            ok = ok and status.value in ("COMPLETED", "COMPLETED_SUCCESS")
        return 0 if ok else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
