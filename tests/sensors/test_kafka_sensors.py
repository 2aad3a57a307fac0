"""The Kafka path against a real broker: requests → partitions and runs, dead letters, cancels, events."""

from __future__ import annotations

import json
import threading
import time

import dagster as dg
import pytest

from nexus_assets.definitions import build_definitions, make_video_job
from nexus_assets.jobs import make_video
from nexus_assets.partitions import VIDEOS_PARTITION
from nexus_cli.generate import QUIET_RUN_CONFIG
from nexus_core.catalog import Catalog, VideoCancelled
from nexus_core.kafka_settings import KafkaSettings
from nexus_core.messages import (
    CancelRequest,
    DeadLetter,
    EventKind,
    GenerationRequest,
    VideoEvent,
    parse,
)
from nexus_core.models import VideoRequest, VideoStatus
from nexus_core.settings import NexusSettings
from resources.catalog import CatalogResource
from resources.kafka import KafkaResource, close_clients
from resources.storage import LocalObjectStore
from sensors.cancel import evaluate_cancels
from sensors.cursor import load_offsets
from sensors.requests import evaluate_requests
from sensors.run_status import build_run_status_sensors
from tests.sensors.support import new_id, read_all

SHORT = VideoRequest(prompt="A quiet walk through a pine forest at dawn", duration_seconds=5, resolution="360p",
                     music_style="none", frame_rate=24, quality="STANDARD")


def publish_request(kafka: KafkaResource, video_id: str, *, user_id: str = "user-1") -> bytes:
    message = GenerationRequest(video_id=video_id, user_id=user_id, request=SHORT, token_cost=5)
    kafka.publish_all([(kafka.topic_requests, message.key(), message.to_bytes())])
    return message.to_bytes()


def tick(instance: dg.DagsterInstance, kafka: KafkaResource, catalog: CatalogResource,
         cursor: str | None) -> dg.SensorResult:
    context = dg.build_sensor_context(instance=instance, cursor=cursor)
    return evaluate_requests(context, kafka, catalog)


def apply(instance: dg.DagsterInstance, result: dg.SensorResult) -> None:
    """What the daemon does with the result's partition requests."""
    for request in result.dynamic_partitions_requests or []:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))


def test_request_becomes_partition_run_and_completed_video_with_ordered_events(
    instance: dg.DagsterInstance, catalog_resource: CatalogResource, kafka: KafkaResource,
    kafka_settings: KafkaSettings, nexus_settings: NexusSettings,
) -> None:
    video_id = new_id()
    publish_request(kafka, video_id)
    result = tick(instance, kafka, catalog_resource, None)

    assert [r.run_key for r in result.run_requests] == [video_id]
    assert result.run_requests[0].partition_key == video_id
    assert result.dynamic_partitions_requests[0].partition_keys == [video_id]
    catalog = catalog_resource.catalog()
    record = catalog.require(video_id)
    assert (record.status, record.user_id) == (VideoStatus.QUEUED, "user-1")  # created from the message
    apply(instance, result)
    assert instance.has_dynamic_partition(VIDEOS_PARTITION, video_id)

    # the run, with phase events going to this test's events topic: Definitions built from these settings pick
    # KafkaPhaseEvents (a reconstructed job would be the one an earlier test cached, built without Kafka)
    job = build_definitions(nexus_settings, kafka_settings).resolve_job_def(make_video.name)
    run = job.execute_in_process(instance=instance, partition_key=video_id,
                                 run_config={"loggers": QUIET_RUN_CONFIG["loggers"]},
                                 tags=dict(result.run_requests[0].tags))
    assert run.success
    assert catalog.require(video_id).status is VideoStatus.COMPLETED
    # the run-status sensor, as the daemon evaluates it, publishes the completion with the final URLs
    store = LocalObjectStore(root=str(nexus_settings.object_store_root))
    (succeeded,) = [s for s in build_run_status_sensors() if s.name == "video_run_succeeded"]
    context = dg.build_run_status_sensor_context(
        sensor_name=succeeded.name, dagster_event=run.get_run_success_event(), dagster_instance=instance,
        dagster_run=instance.get_run_by_id(run.run_id), resources={"kafka": kafka, "catalog": catalog_resource,
                                                                    "store": store},
    )
    succeeded(context)

    events = [parse(VideoEvent, v) for k, v in read_all(kafka_settings, kafka.topic_events, expect=12)
              if k == video_id.encode()]
    kinds = [e.kind for e in events]
    assert kinds[0] is EventKind.PHASE_STARTED and events[0].phase == "script"
    assert kinds[-1] is EventKind.COMPLETED and "video" in events[-1].urls
    assert [e.at for e in events] == sorted(e.at for e in events)  # in order on the video's partition
    started = [e.phase for e in events if e.kind is EventKind.PHASE_STARTED]
    assert started.index("script") < started.index("rendering") < started.index("finalization")

    # the same message again: the video has a run, so no second one
    publish_request(kafka, video_id)
    again = tick(instance, kafka, catalog_resource, result.cursor)
    assert again.run_requests == []


def test_same_message_twice_runs_once_and_cursor_moves_past_it(
    instance: dg.DagsterInstance, catalog_resource: CatalogResource, kafka: KafkaResource
) -> None:
    video_id = new_id()
    publish_request(kafka, video_id)
    publish_request(kafka, video_id)
    first = tick(instance, kafka, catalog_resource, None)
    assert [r.run_key for r in first.run_requests] == [video_id]
    assert sum(load_offsets(first.cursor).values()) == 2
    second = tick(instance, kafka, catalog_resource, first.cursor)
    assert second.run_requests == [] and second.cursor == first.cursor


def test_malformed_message_goes_to_dead_letter_and_sensor_goes_on(
    instance: dg.DagsterInstance, catalog_resource: CatalogResource, kafka: KafkaResource,
    kafka_settings: KafkaSettings,
) -> None:
    good = new_id()
    kafka.publish_all([
        (kafka.topic_requests, b"u", b"{not json"),
        (kafka.topic_requests, b"u", json.dumps({"video_id": "x1", "request": {"prompt": ""}}).encode()),
        (kafka.topic_requests, b"u", json.dumps({"schema_version": 99, "video_id": "x2"}).encode()),
    ])
    publish_request(kafka, good)
    result = tick(instance, kafka, catalog_resource, None)
    assert [r.run_key for r in result.run_requests] == [good]
    letters = read_all(kafka_settings, kafka.topic_dead_letter, expect=3)
    dead = [parse(DeadLetter, v) for _, v in letters]
    keys = {key for (key, _), d in zip(letters, dead, strict=True) if d.topic == kafka.topic_requests}
    assert keys == {b"u"}  # published under the original key, byte for byte (not its hex)
    assert len(dead) == 3, sorted((d.partition, d.offset) for d in dead)
    assert {d.original_value() for d in dead} >= {b"{not json"}
    assert any("schema_version" in d.reason for d in dead)
    assert all(d.topic == kafka.topic_requests and d.offset >= 0 for d in dead)


def test_cancel_of_queued_video_cancels_its_run_and_a_later_request_is_skipped(
    instance: dg.DagsterInstance, catalog_resource: CatalogResource, kafka: KafkaResource,
    kafka_settings: KafkaSettings,
) -> None:
    video_id = new_id()
    publish_request(kafka, video_id)
    result = tick(instance, kafka, catalog_resource, None)
    apply(instance, result)
    queued = instance.create_run_for_job(make_video_job(), status=dg.DagsterRunStatus.NOT_STARTED,
                                         tags={"dagster/partition": video_id})

    cancel = CancelRequest(video_id=video_id)
    kafka.publish_all([(kafka.topic_cancel, cancel.key(), cancel.to_bytes())])
    out = evaluate_cancels(dg.build_sensor_context(instance=instance), kafka, catalog_resource)

    catalog = catalog_resource.catalog()
    assert catalog.require(video_id).status is VideoStatus.CANCELLED
    assert instance.get_run_by_id(queued.run_id).status is dg.DagsterRunStatus.CANCELED
    assert load_offsets(out.cursor)
    with pytest.raises(VideoCancelled):  # a run that starts anyway stops at its first phase
        catalog.start_phase(video_id, phase="script")
    events = [parse(VideoEvent, v) for _, v in read_all(kafka_settings, kafka.topic_events, expect=1)]
    assert [(e.video_id, e.kind) for e in events] == [(video_id, EventKind.CANCELLED)]

    publish_request(kafka, video_id)  # a redelivered request of the cancelled video
    assert tick(instance, kafka, catalog_resource, result.cursor).run_requests == []


def test_cursor_survives_a_daemon_restart(
    instance: dg.DagsterInstance, catalog_resource: CatalogResource, kafka: KafkaResource,
    nexus_settings: NexusSettings,
) -> None:
    first, second = new_id(), new_id()
    publish_request(kafka, first)
    cursor = tick(instance, kafka, catalog_resource, None).cursor
    close_clients()  # the daemon's process is gone: no cached consumer, a fresh instance
    publish_request(kafka, second)
    fresh = dg.DagsterInstance.get()
    result = tick(fresh, kafka, catalog_resource, cursor)
    assert [r.run_key for r in result.run_requests] == [second]


def test_catalog_row_created_by_the_api_is_kept(
    instance: dg.DagsterInstance, catalog_resource: CatalogResource, kafka: KafkaResource
) -> None:
    video_id = new_id()
    catalog: Catalog = catalog_resource.catalog()
    catalog.create_video(video_id=video_id, request=SHORT, user_id="api-user")
    publish_request(kafka, video_id, user_id="api-user")
    started = time.monotonic()
    result = tick(instance, kafka, catalog_resource, None)
    assert time.monotonic() - started < 5  # a tick never blocks long
    assert [r.run_key for r in result.run_requests] == [video_id]
    assert catalog.require(video_id).user_id == "api-user"


def test_cancel_of_a_running_video_stops_its_run_and_it_stays_cancelled(
    instance: dg.DagsterInstance, catalog_resource: CatalogResource, kafka: KafkaResource,
) -> None:
    video_id = new_id()
    catalog = catalog_resource.catalog()
    publish_request(kafka, video_id)
    apply(instance, tick(instance, kafka, catalog_resource, None))
    outcome: dict[str, dg.JobExecutionResult] = {}

    def work() -> None:
        outcome["run"] = dg.execute_job(dg.reconstructable(make_video_job), instance=instance,
                                        run_config=QUIET_RUN_CONFIG, tags={"dagster/partition": video_id},
                                        raise_on_error=False)

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    deadline = time.monotonic() + 60
    while catalog.require(video_id).status is VideoStatus.QUEUED and time.monotonic() < deadline:
        time.sleep(0.05)
    assert catalog.require(video_id).status is VideoStatus.PROCESSING

    cancel = CancelRequest(video_id=video_id)
    kafka.publish_all([(kafka.topic_cancel, cancel.key(), cancel.to_bytes())])
    evaluate_cancels(dg.build_sensor_context(instance=instance), kafka, catalog_resource)
    worker.join(60)
    assert not worker.is_alive()
    assert not outcome["run"].success  # its next phase (or progress report) refused to go on
    record = catalog.require(video_id)
    assert record.status is VideoStatus.CANCELLED and "video" not in record.artifacts
