"""The cancel sensor: `video.generation.cancel` → the video CANCELLED and its runs stopped.

A queued run is marked canceled before it starts; a running one is terminated through the run launcher
(the run's next phase also stops on its own: the catalog refuses to start a phase of a CANCELLED video).
Tokens are the API's: its cancel route releases them, and its ledger settles any reservation whose video
turned CANCELLED some other way; this sensor only marks the catalog, so a release happens once.
"""

from __future__ import annotations

import logging

import dagster as dg

from nexus_core.catalog import Catalog, VideoNotFound
from nexus_core.messages import CancelRequest, DeadLetter, EventKind, MessageError, VideoEvent, parse
from resources.catalog import CatalogResource
from resources.kafka import KafkaResource
from sensors.cursor import dump_offsets, load_offsets
from sensors.requests import PARTITION_TAG

log = logging.getLogger(__name__)

CANCEL_GROUP = "nexus-cancel-sensor"
NOT_STARTED = (dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED)
IN_FLIGHT = (*NOT_STARTED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED)


def _terminate(instance: dg.DagsterInstance, run_id: str) -> bool:
    try:
        return bool(instance.run_launcher.terminate(run_id))
    except Exception as exc:  # a launcher that cannot reach the run must not stop the other cancels
        log.warning("terminating run %s: %s", run_id, exc)
        return False


def cancel_video(instance: dg.DagsterInstance, catalog: Catalog, video_id: str) -> list[str]:
    """Mark the video CANCELLED and stop its unfinished runs; returns what was done, for the log."""
    done: list[str] = []
    try:
        if catalog.mark_cancelled(video_id):
            done.append("marked CANCELLED")
    except VideoNotFound:
        done.append("not in the catalog")
    runs = instance.get_runs(filters=dg.RunsFilter(tags={PARTITION_TAG: video_id}, statuses=list(IN_FLIGHT)))
    for run in runs:
        if run.status in NOT_STARTED:
            instance.report_run_canceled(run, message=f"video {video_id} cancelled before its run started")
            done.append(f"queued run {run.run_id} canceled")
        elif _terminate(instance, run.run_id):
            done.append(f"run {run.run_id} terminated")
        else:
            done.append(f"run {run.run_id} not terminated by the launcher: its phase stops at its next progress")
    return done


def evaluate_cancels(
    context: dg.SensorEvaluationContext, kafka: KafkaResource, catalog: CatalogResource
) -> dg.SensorResult:
    offsets = load_offsets(context.cursor)
    records, next_offsets = kafka.read(kafka.topic_cancel, offsets, group=CANCEL_GROUP)
    out: list[tuple[str, bytes | None, bytes]] = []
    cat = catalog.catalog()
    seen: set[str] = set()
    for record in records:
        try:
            message = parse(CancelRequest, record.value)
        except MessageError as exc:
            dl = DeadLetter.of(topic=record.topic, partition=record.partition, offset=record.offset, key=record.key,
                               value=record.value, reason=str(exc))
            out.append((kafka.topic_dead_letter, record.key, dl.to_bytes()))
            continue
        if message.video_id in seen:
            continue
        seen.add(message.video_id)
        done = cancel_video(context.instance, cat, message.video_id)
        context.log.info(f"cancel {message.video_id}: {', '.join(done) or 'nothing to do'}")
        event = VideoEvent(video_id=message.video_id, kind=EventKind.CANCELLED)
        out.append((kafka.topic_events, event.key(), event.to_bytes()))
    kafka.publish_all(out)
    return dg.SensorResult(cursor=dump_offsets(next_offsets) if records else context.cursor)


def build_cancel_sensor(interval_s: int = 1) -> dg.SensorDefinition:
    @dg.sensor(name="kafka_video_cancels", minimum_interval_seconds=interval_s,
               default_status=dg.DefaultSensorStatus.RUNNING,
               description="video.generation.cancel → the video CANCELLED, its queued or running run stopped.")
    def kafka_video_cancels(
        context: dg.SensorEvaluationContext, kafka: KafkaResource, catalog: CatalogResource
    ) -> dg.SensorResult:
        return evaluate_cancels(context, kafka, catalog)

    return kafka_video_cancels
