"""Self-healing: re-submit videos QUEUED too long with no run; drop partitions of old finished videos;
drop partitions that name no video at all (added by hand in the UI or with `dagster`)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import dagster as dg

from nexus_assets.jobs import make_video
from nexus_assets.partitions import VIDEOS_PARTITION, videos_partitions
from nexus_core import storage_keys
from nexus_core.catalog import Catalog
from nexus_core.models import VideoStatus
from nexus_core.phases import PHASES
from nexus_core.run_tags import RunSource
from resources.catalog import CatalogResource
from resources.kafka import KafkaResource
from resources.storage import ObjectStore
from sensors.requests import run_request_for, videos_with_runs

STUCK_SCAN_LIMIT = 5000
RETENTION_BATCH = 500
INTERMEDIATE_PHASES = PHASES[:-1]  # every phase folder but finalization's (kept with the published files)


def plan_resubmissions(
    catalog: Catalog, instance: dg.DagsterInstance, *, older_than_s: float, now: datetime | None = None
) -> tuple[list[dg.RunRequest], list[str]]:
    """Run requests for QUEUED videos older than the threshold that have no run, and the partitions to add."""
    cutoff = (now or datetime.now(UTC)) - timedelta(seconds=older_than_s)
    queued = catalog.list_videos(status=VideoStatus.QUEUED, limit=STUCK_SCAN_LIMIT)
    queued = [r for r in queued if r.created_at <= cutoff]
    ids = [r.video_id for r in queued]
    if not ids:
        return [], []
    started = videos_with_runs(instance, ids)
    stuck = [v for v in ids if v not in started]
    partitions = set(instance.get_dynamic_partitions(VIDEOS_PARTITION))
    # run_key=video id: this sensor asks once per video; the request sensor skips videos that have a run.
    records = {r.video_id: r for r in queued}
    requests = [run_request_for(v, source=RunSource.RESUBMIT, user_id=records[v].user_id,
                                prompt=records[v].request.prompt, title=records[v].title) for v in stuck]
    return requests, [v for v in stuck if v not in partitions]


def plan_retention(
    catalog: Catalog, instance: dg.DagsterInstance, *, older_than_days: float, now: datetime | None = None,
    batch: int = RETENTION_BATCH,
) -> list[str]:
    """The oldest partitions whose videos are final and older than the retention period (or gone)."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=older_than_days)
    oldest = instance.get_dynamic_partitions(VIDEOS_PARTITION)[: batch * 4]
    records = {r.video_id: r for r in catalog.list_videos(video_ids=oldest)} if oldest else {}
    expired = []
    for video_id in oldest:
        record = records.get(video_id)
        if record is None or (record.status.is_final and record.updated_at <= cutoff):
            expired.append(video_id)
        if len(expired) >= batch:
            break
    return expired


UNKNOWN_GRACE_S = 600.0  # a partition with no catalog row this long is junk (every path writes the row first)
UNKNOWN_SCAN = 5000  # partitions looked at per tick; the cursor's offset walks round the whole list


def plan_unknown_partitions(
    catalog: Catalog, partitions: list[str], cursor: str | None, *, now: float, grace_s: float = UNKNOWN_GRACE_S,
    scan: int = UNKNOWN_SCAN,
) -> tuple[list[str], str]:
    """Partitions with no catalog row for longer than the grace period, and the next cursor.

    The cursor keeps where the scan is and when each unknown partition was first seen: a partition is
    removed only once it has been unknown for `grace_s` (so a catalog briefly pointing elsewhere, or a row
    being written, never costs a real video its partition).
    """
    state = json.loads(cursor) if cursor else {}
    offset = int(state.get("offset", 0)) if partitions else 0
    offset = offset if offset < len(partitions) else 0
    window = partitions[offset:offset + scan]
    first_seen: dict[str, float] = {k: float(v) for k, v in state.get("seen", {}).items()}
    known = catalog.existing_ids(window)
    for video_id in window:
        if video_id in known:
            first_seen.pop(video_id, None)
        else:
            first_seen.setdefault(video_id, now)
    present = set(partitions)
    first_seen = {k: v for k, v in first_seen.items() if k in present}
    expired = sorted(k for k, v in first_seen.items() if now - v >= grace_s and k in window)
    for video_id in expired:
        del first_seen[video_id]
    next_offset = offset + scan if offset + scan < len(partitions) else 0
    return expired, json.dumps({"offset": next_offset, "seen": first_seen}, sort_keys=True)


def build_unknown_partition_sensor(*, interval_s: int = 60, grace_s: float = UNKNOWN_GRACE_S) -> dg.SensorDefinition:
    """Runs with or without Kafka: a partition added by hand is a junk row in the UI and a run that fails."""

    @dg.sensor(name="unknown_video_partitions", minimum_interval_seconds=interval_s,
               default_status=dg.DefaultSensorStatus.RUNNING,
               description=f"Removes partitions that name no video in the catalog after {grace_s:.0f} s "
               "(added by hand in the UI or with `dagster`; their runs fail at the first asset).")
    def unknown_video_partitions(context: dg.SensorEvaluationContext, catalog: CatalogResource) -> dg.SensorResult:
        partitions = list(context.instance.get_dynamic_partitions(VIDEOS_PARTITION))
        expired, cursor = plan_unknown_partitions(catalog.catalog(), partitions, context.cursor,
                                                  now=datetime.now(UTC).timestamp(), grace_s=grace_s)
        if expired:
            context.log.warning(f"removed {len(expired)} partition(s) that name no video: {', '.join(expired[:20])}")
        return dg.SensorResult(
            dynamic_partitions_requests=[videos_partitions.build_delete_request(expired)] if expired else [],
            cursor=cursor,
        )

    return unknown_video_partitions


def delete_intermediates(store: ObjectStore, video_id: str) -> int:
    """Remove the phases' intermediate files; the published video, thumbnails and manifests of the end stay."""
    return sum(store.delete_prefix(f"{storage_keys.video_prefix(video_id)}{phase}/") for phase in INTERMEDIATE_PHASES)


def build_maintenance_sensors(
    *, stuck_interval_s: int = 60, retention_interval_s: int = 3600
) -> list[dg.SensorDefinition]:
    @dg.sensor(name="resubmit_stuck_videos", job=make_video, minimum_interval_seconds=stuck_interval_s,
               default_status=dg.DefaultSensorStatus.RUNNING,
               description="Videos QUEUED longer than KAFKA_STUCK_AFTER_S with no run are submitted again.")
    def resubmit_stuck_videos(
        context: dg.SensorEvaluationContext, kafka: KafkaResource, catalog: CatalogResource
    ) -> dg.SensorResult:
        run_requests, partitions = plan_resubmissions(catalog.catalog(), context.instance,
                                                      older_than_s=kafka.stuck_after_s)
        for request in run_requests:
            context.log.warning(f"video {request.partition_key} was QUEUED with no run: submitted again")
        return dg.SensorResult(
            run_requests=run_requests,
            dynamic_partitions_requests=[videos_partitions.build_add_request(partitions)] if partitions else [],
        )

    @dg.sensor(name="video_partition_retention", minimum_interval_seconds=retention_interval_s,
               default_status=dg.DefaultSensorStatus.RUNNING,
               description="Partitions (and intermediate files) of final videos older than KAFKA_RETENTION_DAYS.")
    def video_partition_retention(
        context: dg.SensorEvaluationContext, kafka: KafkaResource, catalog: CatalogResource, store: ObjectStore
    ) -> dg.SensorResult:
        expired = plan_retention(catalog.catalog(), context.instance, older_than_days=kafka.retention_days)
        removed = sum(delete_intermediates(store, v) for v in expired)
        if expired:
            context.log.info(f"retention: {len(expired)} partition(s) removed, {removed} file(s) deleted")
        return dg.SensorResult(
            dynamic_partitions_requests=[videos_partitions.build_delete_request(expired)] if expired else [],
        )

    return [resubmit_stuck_videos, video_partition_retention]

