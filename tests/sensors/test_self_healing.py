"""No accepted request is lost (broker restart, outbox retries), failed runs reach the catalog, old partitions go."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest

from api.dispatch import DispatchError
from api.kafka_dispatch import KafkaDispatcher
from nexus_assets.definitions import build_definitions, make_video_job
from nexus_assets.partitions import VIDEOS_PARTITION
from nexus_core.kafka_settings import KafkaSettings
from nexus_core.messages import EventKind, GenerationRequest, UserNotification, VideoEvent, parse
from nexus_core.models import VideoRequest, VideoStatus
from nexus_core.settings import NexusSettings
from resources.catalog import CatalogResource
from resources.kafka import KafkaResource, close_clients, ensure_topics
from resources.storage import LocalObjectStore
from sensors.cursor import dump_offsets
from sensors.maintenance import delete_intermediates, plan_resubmissions, plan_retention
from sensors.requests import evaluate_requests
from sensors.run_status import _publish, run_events
from tests.sensors.support import Broker, new_id, read_all

REQUEST = VideoRequest(prompt="Waves on a rocky shore at sunset", duration_seconds=5, resolution="360p",
                       music_style="none")


def outbox_payload(video_id: str) -> dict[str, object]:
    """What api.videos puts in an outbox row of kind 'generate'."""
    return {"video_id": video_id, "user_id": "u-9", "request": REQUEST.model_dump(mode="json"), "token_cost": 5,
            "requested_at": datetime.now(UTC).isoformat()}


def test_broker_restart_loses_no_accepted_request(
    broker: Broker, kafka_settings: KafkaSettings, kafka: KafkaResource, instance: dg.DagsterInstance,
    catalog_resource: CatalogResource,
) -> None:
    catalog = catalog_resource.catalog()
    settings = kafka_settings.model_copy(update={"delivery_timeout_s": 2.0})
    dispatcher = KafkaDispatcher(settings)
    lost, retried = new_id(), new_id()
    catalog.create_video(video_id=lost, request=REQUEST, user_id="u-9")  # the API's transaction
    dispatcher.dispatch(lost, outbox_payload(lost))  # acknowledged by the broker ...
    first = evaluate_requests(dg.build_sensor_context(instance=instance), kafka, catalog_resource)
    assert [r.run_key for r in first.run_requests] == [lost]  # (a tick whose runs the daemon never created)

    broker.restart()  # ... which then loses everything (memory storage)
    close_clients()
    ensure_topics(settings)

    # the request sensor sees nothing of it; the re-submission sensor finds it QUEUED with no run
    runs, partitions = plan_resubmissions(catalog, instance, older_than_s=0)
    assert lost in {r.run_key for r in runs} and lost in partitions
    assert next(r for r in runs if r.run_key == lost).tags["nexus/source"] == "resubmit"

    # the outbox: a hand-off while the broker is down raises, so the relay keeps the row and retries
    catalog.create_video(video_id=retried, request=REQUEST, user_id="u-9")
    broker.stop()
    try:
        with pytest.raises(DispatchError):
            dispatcher.dispatch(retried, outbox_payload(retried))
    finally:
        broker.start()
    ensure_topics(settings)
    KafkaDispatcher(settings).dispatch(retried, outbox_payload(retried))
    # a cursor past the end of the new, empty log (offsets out of range) starts again from the beginning
    stale = dump_offsets({0: 50, 1: 50, 2: 50})
    after = evaluate_requests(dg.build_sensor_context(instance=instance, cursor=stale), kafka, catalog_resource)
    assert [r.run_key for r in after.run_requests] == [retried]
    message = parse(GenerationRequest, read_all(settings, settings.topic_requests, expect=1)[0][1])
    assert (message.video_id, message.user_id, message.token_cost) == (retried, "u-9", 5)


def test_dispatcher_publishes_cancels(kafka_settings: KafkaSettings) -> None:
    KafkaDispatcher(kafka_settings).cancel("abc123")
    ((key, _),) = read_all(kafka_settings, kafka_settings.topic_cancel, expect=1)
    assert key == b"abc123"


def test_failed_run_marks_video_failed_and_publishes_event_and_notification(
    kafka_settings: KafkaSettings, kafka: KafkaResource, instance: dg.DagsterInstance,
    catalog_resource: CatalogResource, nexus_settings: NexusSettings,
) -> None:
    catalog = catalog_resource.catalog()
    video_id = new_id()
    catalog.create_video(video_id=video_id, request=REQUEST, user_id="u-1")
    catalog.start_phase(video_id, phase="rendering")
    run = instance.create_run_for_job(make_video_job(), status=dg.DagsterRunStatus.NOT_STARTED,
                                      tags={"dagster/partition": video_id})
    store = LocalObjectStore(root=str(nexus_settings.object_store_root))
    _publish(kafka, run_events(catalog, store, run, succeeded=False, error="master: ffmpeg exited with 1"))
    record = catalog.require(video_id)
    assert (record.status, record.error) == (VideoStatus.FAILED, "master: ffmpeg exited with 1")
    (event,) = [parse(VideoEvent, v) for _, v in read_all(kafka_settings, kafka.topic_events, expect=1)]
    assert (event.kind, event.phase, event.run_id) == (EventKind.FAILED, "rendering", run.run_id)
    (note,) = [parse(UserNotification, v) for _, v in read_all(kafka_settings, kafka.topic_notifications, expect=1)]
    assert note.user_id == "u-1" and "ffmpeg" in note.message


def test_retention_drops_old_final_partitions_and_their_intermediate_files(
    instance: dg.DagsterInstance, catalog_resource: CatalogResource, nexus_settings: NexusSettings,
) -> None:
    catalog = catalog_resource.catalog()
    old, fresh = new_id(), new_id()
    for video_id in (old, fresh):
        catalog.create_video(video_id=video_id, request=REQUEST)
        instance.add_dynamic_partitions(VIDEOS_PARTITION, [video_id])
    catalog.mark_completed(old, size_bytes=1, duration_s=5.0, artifacts={"video": f"videos/{old}/video.mp4"})
    store = LocalObjectStore(root=str(nexus_settings.object_store_root))
    store.put_bytes(f"videos/{old}/rendering/master.mp4", b"x")
    store.put_bytes(f"videos/{old}/video.mp4", b"x")

    expired = plan_retention(catalog, instance, older_than_days=30, now=datetime.now(UTC) + timedelta(days=31))
    assert old in expired and fresh not in expired  # fresh is still QUEUED
    assert plan_retention(catalog, instance, older_than_days=30) == [] or old not in plan_retention(
        catalog, instance, older_than_days=30)
    assert delete_intermediates(store, old) == 1
    assert store.exists(f"videos/{old}/video.mp4") and not store.exists(f"videos/{old}/rendering/master.mp4")


def test_definitions_add_the_kafka_sensors_only_when_configured(kafka_settings: KafkaSettings) -> None:
    bare = build_definitions(kafka=KafkaSettings(bootstrap_servers=None))
    assert {s.name for s in bare.sensors or []} == {"unknown_video_partitions"}
    defs = build_definitions(kafka=kafka_settings)
    names = {s.name for s in defs.sensors or []}
    assert names == {"kafka_video_requests", "kafka_video_cancels", "video_run_succeeded", "video_run_failed",
                     "resubmit_stuck_videos", "video_partition_retention", "unknown_video_partitions"}
    repo = defs.get_repository_def()
    assert repo.get_sensor_def("kafka_video_requests").job_name == "make_video"


def test_request_runs_carry_the_owner_and_a_truthful_source(
    nexus_settings: NexusSettings, catalog_resource: CatalogResource
) -> None:
    from resources.kafka import Record
    from sensors.requests import plan_requests

    request = VideoRequest(prompt="Glaciers carving fjords over ten thousand years of slow ice", duration_seconds=5)
    from_api, from_elsewhere = new_id(), new_id()
    records = [
        Record(topic="requests", partition=0, offset=i, key=b"k", timestamp_ms=1_700_000_000_000 + i,
               value=GenerationRequest(video_id=vid, user_id=user, request=request, source=source).to_bytes())
        for i, (vid, user, source) in enumerate([(from_api, "alice", "api"), (from_elsewhere, "bob", None)])
    ]
    plan = plan_requests(records, catalog=catalog_resource.catalog(), instance=dg.DagsterInstance.get())
    tags = {r.partition_key: r.tags for r in plan.run_requests}
    assert (tags[from_api]["nexus/user"], tags[from_api]["nexus/source"]) == ("alice", "api")
    assert (tags[from_elsewhere]["nexus/user"], tags[from_elsewhere]["nexus/source"]) == ("bob", "kafka")
    assert tags[from_api]["nexus/prompt"] == "Glaciers carving fjords over ten thousand years of…"


def test_a_remake_run_keeps_the_video_completed_and_tells_its_owner_nothing(
    catalog_resource: CatalogResource, tmp_path
) -> None:
    catalog = catalog_resource.catalog()
    store = LocalObjectStore(root=str(tmp_path))
    video_id = new_id()
    catalog.create_video(video_id=video_id, request=VideoRequest(prompt="Old lighthouses", duration_seconds=5),
                         user_id="alice")
    catalog.mark_completed(video_id, size_bytes=10, duration_s=5.0, artifacts={"video": f"videos/{video_id}/v.mp4"})
    for run_id, succeeded in (("remake-ok", True), ("remake-bad", False)):
        catalog.start_phase(video_id, phase="encoding", run_id=run_id)
        run = dg.DagsterRun(job_name="make_video", run_id=run_id, tags={"dagster/partition": video_id})
        messages = run_events(catalog, store, run, succeeded=succeeded, error=None if succeeded else "killed")
        kinds = [kind for kind, *_ in messages]
        assert kinds == (["events"] if succeeded else [])  # no "ready" notice, no FAILED event
    record = catalog.require(video_id)
    assert record.status is VideoStatus.COMPLETED
    assert [(r.run_id, r.error) for r in record.remakes] == [("remake-ok", None), ("remake-bad", "killed")]
