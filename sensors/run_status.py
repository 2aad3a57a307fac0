"""Run-status sensors: a make_video run's success or failure → the catalog and the events topic."""

from __future__ import annotations

import dagster as dg

from nexus_assets.jobs import make_video
from nexus_core.catalog import Catalog, VideoNotFound
from nexus_core.messages import EventKind, UserNotification, VideoEvent
from nexus_core.models import VideoStatus
from resources.catalog import CatalogResource
from resources.kafka import KafkaResource
from resources.storage import ObjectStore
from sensors.requests import PARTITION_TAG


def final_urls(store: ObjectStore, artifacts: dict[str, str]) -> dict[str, str]:
    """Where the finished video's files can be fetched (the store's URLs for its artifact keys)."""
    return {name: store.url(key) for name, key in sorted(artifacts.items())}


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
    if succeeded and record.status is VideoStatus.COMPLETED:
        event = VideoEvent(video_id=video_id, kind=EventKind.COMPLETED, percent=100.0, run_id=run.run_id,
                           urls=final_urls(store, record.artifacts))
        note = "your video is ready"
    elif record.status is VideoStatus.CANCELLED:
        return []  # the cancel sensor published it
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
    out = [("events", event.key(), event.to_bytes(), f"{video_id}: {event.kind}")]
    if record.user_id:
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

    return [video_run_succeeded, video_run_failed]
