"""The six phases, the assets in each, and the catalog bookkeeping every asset shares."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import dagster as dg

from nexus_core.catalog import Catalog, VideoNotFound, VideoRecord
from nexus_core.logs import logged_phase
from nexus_core.models import VideoRequest
from nexus_core.phases import ASSET_PHASE as ASSET_PHASE  # re-exported: the names live in nexus_core
from nexus_core.phases import PHASE_ASSETS as PHASE_ASSETS
from nexus_core.run_tags import missing_tags, short_text
from resources.catalog import CatalogResource
from resources.phase_events import NoPhaseEvents, PhaseEvents
from resources.pipeline import PipelineConfig


class PhaseFailed(Exception):
    """A phase could not produce its output; the message is what the person sees."""


@dataclass
class PhaseRun:
    """Handed to an asset body: report percent done inside the phase."""

    catalog: Catalog
    video_id: str
    phase: str
    started: float

    events: PhaseEvents = field(default_factory=NoPhaseEvents)
    artifacts: dict[str, str] = field(default_factory=dict)  # keys the body made: into the catalog at the end

    def progress(self, fraction: float) -> None:
        self.catalog.report_progress(self.video_id, phase=self.phase, percent=100.0 * fraction)
        self.events.progress(self.video_id, self.phase, 100.0 * fraction)

    def progress_of(self, total: int) -> Callable[[], None]:
        """A thread-safe 'one more item done' callback for total items."""
        import threading

        lock = threading.Lock()
        done = [0]

        def tick() -> None:
            with lock:
                done[0] += 1
                self.progress(done[0] / max(1, total))

        return tick


class NotAVideo(dg.Failure):
    """The partition names no video in the catalog (added by hand in the UI or with `dagster`)."""

    def __init__(self, video_id: str) -> None:
        super().__init__(
            description=(
                f"partition {video_id!r} is not a video in the catalog: videos are added with `nexus generate`, "
                "the API or Kafka, which create the partition; this one was added by hand. Nothing was made; "
                "the partition is removed by the `unknown_video_partitions` sensor after its grace period."
            ),
            allow_retries=False,
        )


def start_video_phase(
    context: dg.AssetExecutionContext, catalog: Catalog, video_id: str, phase: str
) -> VideoRecord:
    """The catalog's start of the phase; a partition with no catalog row fails the step at once."""
    try:
        return catalog.start_phase(video_id, phase=phase, run_id=context.run_id)
    except VideoNotFound:
        raise NotAVideo(video_id) from None


def describe_run(context: dg.AssetExecutionContext, record: VideoRecord) -> None:
    """Title and prompt on the asset's materialization, and on the run's tags when its launcher left them
    out (a UI launch, a backfill): the UI then shows what each partition and run is, not only its hex id."""
    about = {"prompt": short_text(record.request.prompt)}
    if record.title:
        about["video_title"] = record.title
    context.add_asset_metadata(about)
    run = context.run
    tags = missing_tags(run.tags, user_id=record.user_id, prompt=record.request.prompt, title=record.title)
    if tags:
        context.instance.add_run_tags(run.run_id, tags)


@contextmanager
def phase_run(
    context: dg.AssetExecutionContext, catalog: Catalog, events: PhaseEvents, asset_name: str
) -> Iterator[PhaseRun]:
    """Mark the phase started, time it, and mark the video FAILED with the reason if the body raises; tell
    `events` (the `phase_events` resource) along the way."""
    video_id = context.partition_key
    phase = ASSET_PHASE[asset_name]
    record = start_video_phase(context, catalog, video_id, phase)
    run = PhaseRun(catalog=catalog, video_id=video_id, phase=phase, started=time.monotonic(), events=events)
    events.started(video_id, phase, context.run.run_id)
    try:
        describe_run(context, record)
        yield run
    except Exception as exc:
        reason = f"{asset_name}: {exc}"
        catalog.mark_failed(video_id, error=reason, phase=phase, run_id=context.run_id)
        context.log.error(reason)
        events.finished(video_id, phase, asset_name, error=reason)
        raise
    catalog.finish_phase(video_id, phase=asset_name, seconds=round(time.monotonic() - run.started, 3),
                         artifacts=run.artifacts, run_id=context.run_id)
    events.finished(video_id, phase, asset_name)


class Step(NamedTuple):
    """What every asset body starts from: the catalog, the video, its request, progress, a scratch folder."""

    catalog: Catalog
    video_id: str
    request: VideoRequest
    run: PhaseRun
    work: Path


@contextmanager
def phase_step(
    context: dg.AssetExecutionContext, catalog: CatalogResource, pipeline: PipelineConfig, events: PhaseEvents,
    asset_name: str,
) -> Iterator[Step]:
    """phase_run plus the request (read inside it, so a missing video fails the phase) and a scratch folder."""
    cat = catalog.catalog()
    with logged_phase(video_id=context.partition_key, run_id=context.run_id, phase=ASSET_PHASE[asset_name],
                      asset=asset_name), \
            phase_run(context, cat, events, asset_name) as run, pipeline.workdir(run.video_id, asset_name) as work:
        yield Step(cat, run.video_id, cat.get_request(run.video_id), run, work)
