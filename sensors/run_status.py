"""Run-status sensors: a make_video run's success or failure → the catalog and the events topic."""

from __future__ import annotations

import functools
import time

import dagster as dg

from nexus_assets.jobs import make_video
from nexus_core.catalog import Catalog, VideoNotFound
from nexus_core.download_links import ApiLinks, CdnLinks, CdnSettings, EventLinkSettings, client_links
from nexus_core.messages import EventKind, UserNotification, VideoEvent
from nexus_core.models import VideoStatus
from nexus_core.settings import get_settings
from resources.catalog import CatalogResource
from resources.kafka import KafkaResource
from resources.pipeline import remove_dead_run_scratch
from resources.storage import ObjectStore
from sensors.requests import PARTITION_TAG


@functools.lru_cache(maxsize=1)
def _api_links() -> ApiLinks:
    """Read once per process, at the first completion (never at import)."""
    return EventLinkSettings().api_links(get_settings().resolved_home)


@functools.lru_cache(maxsize=1)
def _cdn_links() -> CdnLinks | None:
    """NEXUS_CDN_*, read once per process at the first completion."""
    return CdnSettings().links()


def final_urls(store: ObjectStore, video_id: str, artifacts: dict[str, str]) -> dict[str, str]:
    """Where a client fetches the finished video's files: presigned store URLs, or signed links to the API."""
    return client_links(video_id=video_id, artifacts=artifacts, store_url=store.url, api=_api_links(),
                        now=time.time(), cdn=_cdn_links())


def run_events(
    catalog: Catalog, store: ObjectStore, run: dg.DagsterRun, *, succeeded: bool, error: str | None = None
) -> list[tuple[str, bytes | None, bytes, str]]:
    """The (topic kind, key, value, log line) messages for a finished run, after updating the catalog."""
    video_id = run.tags.get(PARTITION_TAG)
    if not video_id:
        return []
    record = catalog.get(video_id)
    if record is None:
        return []
    remake = record.last_remake is not None and record.last_remake.run_id == run.run_id
    if succeeded and record.status is VideoStatus.COMPLETED:
        event = VideoEvent(video_id=video_id, kind=EventKind.COMPLETED, percent=100.0, run_id=run.run_id,
                           urls=final_urls(store, video_id, record.artifacts), adjustments=record.adjustments)
        note = "" if remake else "your video is ready"  # an operator's re-make is not news to its owner
    elif record.status is VideoStatus.CANCELLED:
        return []  # the cancel sensor published it
    elif record.status is VideoStatus.COMPLETED:
        # a re-make that failed: the video keeps its files and stays COMPLETED; the reason goes on the re-make
        catalog.mark_failed(video_id, error=error or "the re-make run failed", run_id=run.run_id)
        return []
    else:
        reason = error or record.error or "the run did not complete the video"
        try:
            catalog.mark_failed(video_id, error=reason)
        except VideoNotFound:
            return []
        record = catalog.require(video_id)
        event = VideoEvent(video_id=video_id, kind=EventKind.FAILED, phase=record.phase, run_id=run.run_id,
                           error=record.error or reason)
        note = f"your video failed: {record.error or reason}"
    out: list[tuple[str, bytes | None, bytes, str]] = [
        ("events", event.key(), event.to_bytes(), f"{video_id}: {event.kind}")
    ]
    if record.user_id and note:
        notice = UserNotification(user_id=record.user_id, video_id=video_id, kind=event.kind, message=note)
        out.append(("notifications", notice.key(), notice.to_bytes(), ""))
    return out


def _publish(kafka: KafkaResource, messages: list[tuple[str, bytes | None, bytes, str]]) -> None:
    topics = {"events": kafka.topic_events, "notifications": kafka.topic_notifications}
    kafka.publish_all((topics[kind], key, value) for kind, key, value, _ in messages)


def build_run_status_sensors() -> list[dg.SensorDefinition]:
    @dg.run_status_sensor(run_status=dg.DagsterRunStatus.SUCCESS, monitored_jobs=[make_video],
                          name="video_run_succeeded", default_status=dg.DefaultSensorStatus.RUNNING,
                          minimum_interval_seconds=1)
    def video_run_succeeded(
        context: dg.RunStatusSensorContext, kafka: KafkaResource, catalog: CatalogResource, store: ObjectStore
    ) -> None:
        _publish(kafka, run_events(catalog.catalog(), store, context.dagster_run, succeeded=True))

    @dg.run_failure_sensor(monitored_jobs=[make_video], name="video_run_failed",
                           default_status=dg.DefaultSensorStatus.RUNNING, minimum_interval_seconds=1)
    def video_run_failed(
        context: dg.RunFailureSensorContext, kafka: KafkaResource, catalog: CatalogResource, store: ObjectStore
    ) -> None:
        error = context.failure_event.message if context.failure_event else None
        _publish(kafka, run_events(catalog.catalog(), store, context.dagster_run, succeeded=False, error=error))
        remove_dead_run_scratch(context.instance, context.dagster_run)  # a killed run's steps left them

    return [video_run_succeeded, video_run_failed]
