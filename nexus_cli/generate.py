"""`nexus generate`: register a video, run the six phases in the Dagster instance, show progress."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from nexus_assets.definitions import make_video_job
from nexus_assets.partitions import VIDEOS_PARTITION
from nexus_assets.phases import ASSET_PHASE, PHASE_ASSETS
from nexus_cli.instance import prepare_instance
from nexus_core.catalog import Catalog, VideoRecord
from nexus_core.models import VideoRequest, VideoStatus
from nexus_core.run_tags import RunSource, run_tags
from nexus_core.settings import NexusSettings
from nexus_core.storage_keys import new_video_id
from resources.storage import LocalObjectStore

QUIET_RUN_CONFIG = {
    "execution": {"config": {"in_process": {}}},
    "loggers": {"console": {"config": {"log_level": "ERROR"}}},
}


def submit_video(
    instance: dg.DagsterInstance, catalog: Catalog, request: VideoRequest, *, video_id: str | None = None
) -> str:
    """Record the request in the catalog and add its partition to the instance."""
    video_id = video_id or new_video_id()
    catalog.create_video(video_id=video_id, request=request)
    instance.add_dynamic_partitions(VIDEOS_PARTITION, [video_id])
    return video_id


def run_video(
    instance: dg.DagsterInstance, video_id: str, *, source: RunSource = RunSource.CLI, record: VideoRecord | None = None
) -> dg.JobExecutionResult:
    """Materialize the six phases for one partition in this process; the run is recorded in the instance,
    tagged with the video's owner, the request's source and its prompt (nexus_core.run_tags)."""
    tags = run_tags(source=source, video_id=video_id, user_id=record.user_id if record else None,
                    prompt=record.request.prompt if record else None, title=record.title if record else None)
    return dg.execute_job(
        dg.reconstructable(make_video_job),
        instance=instance,
        run_config=QUIET_RUN_CONFIG,
        tags=tags,
    )


def run_failure_reason(outcome: dict[str, object]) -> str | None:
    """The first step failure's message from a finished run, or the exception that stopped it."""
    result = outcome.get("result")
    if isinstance(result, dg.JobExecutionResult):
        for event in result.get_step_failure_events():
            error = event.step_failure_data.error
            if error is not None:
                return f"{event.step_key}: {error.message.strip()}"
    stopped = outcome.get("error")
    return str(stopped) if stopped else None


@dataclass
class ProgressView:
    """One bar per phase, driven by the catalog's phase and percent."""

    console: Console
    progress: Progress = field(init=False)
    tasks: dict[str, TaskID] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.progress = Progress(
            TextColumn("{task.description:<13}"), BarColumn(), TextColumn("{task.percentage:>5.1f}%"),
            TimeElapsedColumn(), console=self.console, transient=False,
        )
        for phase in PHASE_ASSETS:
            self.tasks[phase] = self.progress.add_task(phase, total=100.0)

    def show(self, record: VideoRecord) -> None:
        phases = list(PHASE_ASSETS)
        done = {p for p, assets in PHASE_ASSETS.items() if all(a in record.phase_seconds for a in assets)}
        current = record.phase if record.phase in phases else None
        for phase in phases:
            if phase in done and phase != current:
                self.progress.update(self.tasks[phase], completed=100.0)
            elif phase == current:
                self.progress.update(self.tasks[phase], completed=record.percent)
        if record.status is VideoStatus.COMPLETED:
            for task in self.tasks.values():
                self.progress.update(task, completed=100.0)


def generate(settings: NexusSettings, request: VideoRequest, console: Console) -> int:
    """Make one video end to end; print where it is. Returns the process exit code."""
    instance = prepare_instance(settings)
    catalog = Catalog(settings.catalog_url)
    video_id = submit_video(instance, catalog, request)
    width, height = request.size
    console.print(
        f"[bold]video {video_id}[/]: {request.duration_seconds}s {width}x{height} @ {request.frame_rate} fps, "
        f"{request.quality.value}, music {request.music_style.value}, language {request.language.value}"
    )
    started = time.monotonic()
    outcome: dict[str, object] = {}

    def work() -> None:
        try:
            outcome["result"] = run_video(instance, video_id, record=catalog.require(video_id))
        except BaseException as exc:  # surfaced below, after the progress view closes
            outcome["error"] = exc

    worker = threading.Thread(target=work, name="nexus-run", daemon=True)
    view = ProgressView(console)
    try:
        with view.progress:
            worker.start()
            while worker.is_alive():
                worker.join(0.25)
                view.show(catalog.require(video_id))
            view.show(catalog.require(video_id))
    except KeyboardInterrupt:
        catalog.mark_failed(video_id, error="interrupted from the command line")
        console.print("[red]interrupted[/]: the video is marked FAILED")
        return 130
    record = catalog.require(video_id)
    if "error" in outcome or record.status is not VideoStatus.COMPLETED:
        reason = record.error or run_failure_reason(outcome) or "the run failed"
        if not record.status.is_final:
            catalog.mark_failed(video_id, error=reason)
        console.print(f"[red]FAILED[/] {video_id}: {reason}")
        return 1
    print_summary(console, settings, record, time.monotonic() - started)
    return 0


def print_summary(console: Console, settings: NexusSettings, record: VideoRecord, seconds: float) -> None:
    store = LocalObjectStore(root=str(settings.object_store_root))

    def path(key: str) -> Path:
        return store.path_of(key)

    length = "?" if record.duration_s is None else f"{record.duration_s:.2f}"
    size = "?" if record.size_bytes is None else f"{record.size_bytes / 1e6:.2f}"
    console.print(f"[green]done[/] in {seconds:.1f}s: {length}s, {size} MB")  # both set by mark_completed
    console.print(f"video      {path(record.artifacts['video'])}")
    for name in sorted(k for k in record.artifacts if k.startswith("video_") and k != "video_h264"):
        console.print(f"{name[6:]:<10} {path(record.artifacts[name])}")
    for ext in ("srt", "vtt"):
        if f"captions_{ext}" in record.artifacts:
            console.print(f"captions   {path(record.artifacts[f'captions_{ext}'])}")
    for name in sorted(k for k in record.artifacts if k.startswith("thumbnail_")):
        console.print(f"thumbnail  {path(record.artifacts[name])}")
    if "poster" in record.artifacts:
        console.print(f"poster     {path(record.artifacts['poster'])}")
    per_phase: dict[str, float] = {}
    for asset, secs in record.phase_seconds.items():
        phase = ASSET_PHASE.get(asset, asset)
        per_phase[phase] = per_phase.get(phase, 0.0) + float(secs)
    console.print("seconds per phase: " + ", ".join(f"{p} {s:.1f}" for p, s in per_phase.items()))
