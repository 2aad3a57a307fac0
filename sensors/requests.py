"""The request sensor: `video.generation.requests` → a dynamic partition and a make_video run per video.

Each tick reads a bounded batch from the offsets in the cursor, and returns one SensorResult with the new
partitions, the run requests (run_key = video id, so a redelivered message never starts a second run)
and the advanced cursor. A message that cannot be read goes to the dead-letter topic with the reason;
a video already CANCELLED, or one that already has a run, is skipped. The catalog row is created here
when the API did not create it (the message carries the whole request).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import dagster as dg

from nexus_assets.jobs import make_video
from nexus_assets.partitions import VIDEOS_PARTITION, videos_partitions
from nexus_core.catalog import Catalog, VideoExists
from nexus_core.messages import DeadLetter, GenerationRequest, MessageError, parse
from nexus_core.models import VideoStatus, check_unicode
from nexus_core.run_tags import PARTITION_TAG, RunSource, run_tags
from resources.catalog import CatalogResource
from resources.kafka import KafkaResource, Record
from sensors.cursor import dump_offsets, load_offsets

log = logging.getLogger(__name__)

REQUEST_GROUP = "nexus-request-sensor"
PUBLISHED_TAG = "nexus/published_ms"


@dataclass
class RequestPlan:
    run_requests: list[dg.RunRequest] = field(default_factory=list)
    new_partitions: list[str] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)


def videos_with_runs(instance: dg.DagsterInstance, video_ids: Sequence[str]) -> set[str]:
    """The ids among video_ids that already have a Dagster run (of any status)."""
    if not video_ids:
        return set()
    runs = instance.get_runs(filters=dg.RunsFilter(tags={PARTITION_TAG: list(video_ids)}))
    return {run.tags.get(PARTITION_TAG, "") for run in runs}


def run_request_for(
    video_id: str, *, source: RunSource, user_id: str | None, prompt: str | None, title: str | None = None,
    published_ms: int | None = None,
) -> dg.RunRequest:
    """A make_video run for one video, tagged by nexus_core.run_tags (owner, source, prompt, title)."""
    tags = run_tags(source=source, user_id=user_id, prompt=prompt, title=title)
    if published_ms is not None:
        tags[PUBLISHED_TAG] = str(published_ms)
    return dg.RunRequest(run_key=video_id, partition_key=video_id, tags=tags)


def message_source(message: GenerationRequest) -> RunSource:
    """api when the REST API sent the request through its outbox, kafka for any other producer."""
    return RunSource.API if message.source == RunSource.API.value else RunSource.KAFKA


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def unicode_problem(value: bytes | None) -> None:
    """Raise MessageError when a message's text is not valid Unicode: bytes that are not UTF-8, or a lone
    surrogate escape (`\\ud800`), which the API refuses with 422 and no store can keep."""
    if not value:
        return
    try:
        value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MessageError(f"not valid Unicode: the message is not UTF-8 (byte {exc.start})") from None
    if _SURROGATE_ESCAPE.search(value) is None:
        return
    try:
        decoded = json.loads(value)  # a valid pair becomes one character; what is left is a lone surrogate
    except ValueError:
        return  # not JSON: parse() says so
    stack: list[object] = [decoded]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            try:
                check_unicode(item)
            except ValueError as exc:
                raise MessageError(str(exc)) from None


def plan_requests(records: Sequence[Record], *, catalog: Catalog, instance: dg.DagsterInstance) -> RequestPlan:
    """What a batch of request messages asks for (pure of Kafka: the sensor reads and writes the topics)."""
    plan = RequestPlan()
    wanted: dict[str, tuple[GenerationRequest, Record]] = {}
    for record in records:
        try:
            unicode_problem(record.value)
            message = parse(GenerationRequest, record.value)
        except MessageError as exc:
            plan.dead_letters.append(DeadLetter.of(topic=record.topic, partition=record.partition,
                                                   offset=record.offset, key=record.key, value=record.value,
                                                   reason=str(exc)))
            continue
        wanted.setdefault(message.video_id, (message, record))
    if not wanted:
        return plan
    known = {r.video_id: r for r in catalog.list_videos(video_ids=list(wanted))}
    started = videos_with_runs(instance, list(wanted))
    partitions = set(instance.get_dynamic_partitions(VIDEOS_PARTITION)) if wanted else set()
    for video_id, (message, record) in wanted.items():
        existing = known.get(video_id)
        if existing is None:
            try:
                catalog.create_video(video_id=video_id, request=message.request, user_id=message.user_id)
            except VideoExists:
                existing = catalog.get(video_id)
        if existing is not None and existing.status is VideoStatus.CANCELLED:
            plan.skipped[video_id] = "cancelled"
            continue
        if video_id in started:
            plan.skipped[video_id] = "already has a run"
            continue
        if video_id not in partitions:
            plan.new_partitions.append(video_id)
        plan.run_requests.append(run_request_for(
            video_id, source=message_source(message), user_id=message.user_id, prompt=message.request.prompt,
            published_ms=record.timestamp_ms,
        ))
    return plan


def evaluate_requests(
    context: dg.SensorEvaluationContext, kafka: KafkaResource, catalog: CatalogResource
) -> dg.SensorResult:
    """One tick: read, dead-letter what cannot be read (confirmed before the cursor moves), plan, return."""
    offsets = load_offsets(context.cursor)
    records, next_offsets = kafka.read(kafka.topic_requests, offsets, group=REQUEST_GROUP)
    plan = plan_requests(records, catalog=catalog.catalog(), instance=context.instance)
    if plan.dead_letters:
        kafka.publish_all((kafka.topic_dead_letter, dl.original_key(), dl.to_bytes())
                          for dl in plan.dead_letters)
        for dl in plan.dead_letters:
            context.log.warning(f"dead-lettered {dl.topic}[{dl.partition}]@{dl.offset}: {dl.reason}")
    for video_id, why in plan.skipped.items():
        context.log.info(f"request for {video_id} skipped: {why}")
    for run_request in plan.run_requests:  # the structured line (nexus_core.logs) beside Dagster's tick log
        log.info("run requested", extra={"video_id": run_request.partition_key, "source": "kafka"})
    return dg.SensorResult(
        run_requests=plan.run_requests,
        dynamic_partitions_requests=[videos_partitions.build_add_request(plan.new_partitions)]
        if plan.new_partitions else [],
        cursor=dump_offsets(next_offsets) if records else context.cursor,
    )


def build_request_sensor(interval_s: int = 1) -> dg.SensorDefinition:
    @dg.sensor(name="kafka_video_requests", job=make_video, minimum_interval_seconds=interval_s,
               default_status=dg.DefaultSensorStatus.RUNNING,
               description="video.generation.requests → a partition and a make_video run per video.")
    def kafka_video_requests(
        context: dg.SensorEvaluationContext, kafka: KafkaResource, catalog: CatalogResource
    ) -> dg.SensorResult:
        return evaluate_requests(context, kafka, catalog)

    return kafka_video_requests
