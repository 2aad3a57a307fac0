"""Render a 60 s 1080p30 HD video from fixed inputs; print seconds per phase, the floor ratio, peak memory.

    .venv/bin/python bench/render.py [--seconds 60] [--resolution 1080p] [--fps 30]

The floor is ffmpeg encoding one static frame of the same size for the same length with the same codec
and preset, measured in the same run. The ratio compares compositing + rendering + encoding to it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
OUT = Path(__file__).resolve().parent / "out"
PROMPT = "A 60-second explainer on black holes: how they form, event horizons, and what we have seen of them"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--resolution", default="1080p")
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--quality", default="HD")
    args = parser.parse_args()

    home = OUT / "home"
    shutil.rmtree(home, ignore_errors=True)
    os.environ["NEXUS_HOME"] = str(home)
    os.environ.pop("DAGSTER_HOME", None)

    from memory import PeakMemory
    from rich.console import Console

    from nexus_assets.phases import ASSET_PHASE
    from nexus_cli.generate import run_video, submit_video
    from nexus_cli.instance import prepare_instance
    from nexus_core.catalog import Catalog
    from nexus_core.media.ffmpeg_args import build_static_floor_args
    from nexus_core.media.presets import master_preset
    from nexus_core.media.runner import run_ffmpeg
    from nexus_core.models import VideoRequest, VideoStatus
    from nexus_core.settings import NexusSettings
    from resources.storage import LocalObjectStore

    settings = NexusSettings()
    request = VideoRequest(prompt=PROMPT, duration_seconds=args.seconds, quality=args.quality,
                           resolution=args.resolution, frame_rate=args.fps, music_style="cinematic")
    instance = prepare_instance(settings)
    catalog = Catalog(settings.catalog_url)
    video_id = submit_video(instance, catalog, request, video_id="bench")
    console = Console()
    started = time.monotonic()
    with PeakMemory() as memory:
        run_video(instance, video_id)
    wall = time.monotonic() - started
    record = catalog.require(video_id)
    if record.status is not VideoStatus.COMPLETED:
        console.print(f"[red]render failed[/]: {record.error}")
        return 1

    per_phase: dict[str, float] = {}
    for asset, secs in record.phase_seconds.items():
        per_phase[ASSET_PHASE[asset]] = per_phase.get(ASSET_PHASE[asset], 0.0) + float(secs)
    store = LocalObjectStore(root=str(settings.object_store_root))
    still = store.path_of(f"videos/{video_id}/assets/images/scene_001.png")
    floor_out = OUT / "floor.mp4"
    t0 = time.monotonic()
    run_ffmpeg(build_static_floor_args(still, float(args.seconds), args.fps, master_preset(request.quality), floor_out))
    floor = time.monotonic() - t0
    media = per_phase["compositing"] + per_phase["rendering"] + per_phase["encoding"]

    w, h = request.size
    console.print(f"[bold]{args.seconds}s {w}x{h} @ {args.fps} fps, {args.quality}[/] on {os.cpu_count()} cores")
    for phase, secs in per_phase.items():
        console.print(f"  {phase:<13} {secs:7.2f} s")
    console.print(f"  {'total (wall)':<13} {wall:7.2f} s")
    console.print(f"floor (static frame, same codec/preset): {floor:.2f} s")
    console.print(f"compositing + rendering + encoding: {media:.2f} s = [bold]{media / floor:.2f}x[/] the floor "
                  f"(aim: <= 2.5x)")
    console.print(f"peak memory (process tree RSS): [bold]{memory.peak / 2**20:.0f} MiB[/] (aim: < 1024 MiB)")
    console.print(f"output: {store.path_of(record.artifacts['video'])} ({record.size_bytes / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
