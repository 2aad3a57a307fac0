"""The six phases, the assets in each, and the catalog bookkeeping every asset shares."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import dagster as dg

from nexus_core.catalog import Catalog
from nexus_core.models import VideoRequest
from resources.catalog import CatalogResource
from resources.kafka import PhaseEvents, phase_events
from resources.pipeline import PipelineConfig

PHASE_ASSETS: dict[str, tuple[str, ...]] = {
    "script": ("scenario",),
    "assets": ("scene_images", "voiceover", "music_bed"),
    "compositing": ("composited_scenes",),
    "rendering": ("master",),
    "encoding": ("renditions",),
    "finalization": ("published_video",),
}
ASSET_PHASE: dict[str, str] = {asset: phase for phase, assets in PHASE_ASSETS.items() for asset in assets}


class PhaseFailed(Exception):
    """A phase could not produce its output; the message is what the person sees."""


@dataclass
class PhaseRun:
    """Handed to an asset body: report percent done inside the phase."""

    catalog: Catalog
    video_id: str
    phase: str
    started: float

    events: PhaseEvents | None = None

    def progress(self, fraction: float) -> None:
        self.catalog.report_progress(self.video_id, phase=self.phase, percent=100.0 * fraction)
        if self.events is not None:
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


@contextmanager
def phase_run(context: dg.AssetExecutionContext, catalog: Catalog, asset_name: str) -> Iterator[PhaseRun]:
    """Mark the phase started, time it, and mark the video FAILED with the reason if the body raises."""
    video_id = context.partition_key
    phase = ASSET_PHASE[asset_name]
    catalog.start_phase(video_id, phase=phase, run_id=context.run_id)
    events = phase_events()  # None unless KAFKA_BOOTSTRAP_SERVERS is set: then progress also goes to Kafka
    run = PhaseRun(catalog=catalog, video_id=video_id, phase=phase, started=time.monotonic(), events=events)
    if events is not None:
        events.started(video_id, phase, context.run.run_id)
    try:
        yield run
    except Exception as exc:
        reason = f"{asset_name}: {exc}"
        catalog.mark_failed(video_id, error=reason, phase=phase)
        context.log.error(reason)
        if events is not None:
            events.finished(video_id, phase, asset_name, error=reason)
        raise
    catalog.finish_phase(video_id, phase=asset_name, seconds=round(time.monotonic() - run.started, 3))
    if events is not None:
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
    context: dg.AssetExecutionContext, catalog: CatalogResource, pipeline: PipelineConfig, asset_name: str
) -> Iterator[Step]:
    """phase_run plus the request (read inside it, so a missing video fails the phase) and a scratch folder."""
    cat = catalog.catalog()
    with phase_run(context, cat, asset_name) as run, pipeline.workdir(run.video_id, asset_name) as work:
        yield Step(cat, run.video_id, cat.get_request(run.video_id), run, work)
