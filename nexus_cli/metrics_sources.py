"""Where the pipeline exporter reads its facts: the catalog, the request sensor's cursor and the broker's
high watermarks, the phase manifests (which provider made each result), and Dagster's concurrency pools.
Each reader is I/O only; nexus_core.metrics turns the facts into metric families."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import dagster as dg
from sqlalchemy import Engine, select

from nexus_core import storage_keys as keys
from nexus_core.catalog.tables import videos
from nexus_core.kafka_settings import KafkaSettings
from nexus_core.metrics import PartitionLag, PoolUse, VideoFacts, fallback_from, hosted_provider
from sensors.cursor import load_offsets

log = logging.getLogger(__name__)

REQUEST_SENSOR = "kafka_video_requests"  # sensors/requests.py build_request_sensor's name
MANIFEST_PHASES = ("script", "assets/images", "assets/voice", "assets/music")
FINAL = ("COMPLETED", "FAILED", "CANCELLED")


def read_videos(engine: Engine) -> list[VideoFacts]:
    """Every catalog row's status, phase, error, timings and timestamps (not the request: it can be large)."""
    columns = (videos.c.status, videos.c.phase, videos.c.error, videos.c.phase_seconds, videos.c.created_at,
               videos.c.started_at, videos.c.completed_at)
    with engine.connect() as conn:
        return [VideoFacts(status=r.status, phase=r.phase, error=r.error, phase_seconds=dict(r.phase_seconds or {}),
                           created_at=r.created_at, started_at=r.started_at, completed_at=r.completed_at)
                for r in conn.execute(select(*columns))]


def recent_videos(engine: Engine, *, since: datetime) -> list[tuple[str, str, datetime]]:
    """(id, status, updated_at) of the videos updated since then, oldest first."""
    query = (select(videos.c.id, videos.c.status, videos.c.updated_at).where(videos.c.updated_at >= since)
             .order_by(videos.c.updated_at, videos.c.id))
    with engine.connect() as conn:
        return [(r.id, r.status, r.updated_at) for r in conn.execute(query)]


def request_sensor_offsets(instance: dg.DagsterInstance, sensor_name: str = REQUEST_SENSOR) -> dict[int, int] | None:
    """The request sensor's cursor ({partition: next offset}), or None when the instance has no state for it."""
    from dagster._core.scheduler.instigation import InstigatorType  # no public name for the sensor kind

    found: dict[int, int] | None = None
    for state in instance.all_instigator_state(instigator_type=InstigatorType.SENSOR):
        if state.instigator_name != sensor_name:
            continue
        offsets = load_offsets(getattr(state.instigator_data, "cursor", None))
        found = offsets if found is None else {p: max(o, found.get(p, o)) for p, o in {**found, **offsets}.items()}
    return found


def lag_of(topic: str, watermarks: Mapping[int, tuple[int, int]], offsets: Mapping[int, int]) -> list[PartitionLag]:
    """Per partition, high watermark minus the next offset the sensor reads (its low watermark when unread)."""
    return [PartitionLag(topic, partition, max(0, high - max(offsets.get(partition, low), low)))
            for partition, (low, high) in sorted(watermarks.items())]


class Watermarks:
    """A consumer kept between scrapes that reads the (low, high) watermarks of a topic's partitions."""

    def __init__(self, settings: KafkaSettings, *, timeout_s: float = 2.0) -> None:
        from confluent_kafka import Consumer

        self._timeout_s = timeout_s
        self._lock = threading.Lock()
        self._consumer = Consumer(settings.consumer_config("nexus-metrics-exporter"))

    def read(self, topic: str) -> dict[int, tuple[int, int]]:
        from confluent_kafka import TopicPartition

        with self._lock:
            metadata = self._consumer.list_topics(topic, timeout=self._timeout_s)
            info = metadata.topics.get(topic)
            if info is None or info.error is not None:
                return {}
            out: dict[int, tuple[int, int]] = {}
            for partition in sorted(info.partitions):
                low, high = self._consumer.get_watermark_offsets(TopicPartition(topic, partition),
                                                                 timeout=self._timeout_s, cached=False)
                out[partition] = (int(low), int(high))
            return out

    def close(self) -> None:
        with self._lock:
            self._consumer.close()


def provider_labels(manifest: Any) -> list[str]:
    """Every `provider` and `writer` label in a manifest (items and top level)."""
    found: list[str] = []
    if isinstance(manifest, dict):
        for key, value in manifest.items():
            if key in ("provider", "writer") and isinstance(value, str):
                found.append(value)
            else:
                found += provider_labels(value)
    elif isinstance(manifest, list):
        for item in manifest:
            found += provider_labels(item)
    return found


def provider_use(labels_in_order: Iterable[Sequence[str]]) -> tuple[dict[str, int], dict[str, bool]]:
    """Fallback counts per hosted provider, and whether each one's latest recorded call fell back.

    Args:
        labels_in_order: each video's provider labels, oldest video first.
    """
    counts: dict[str, int] = {}
    latest_fell_back: dict[str, bool] = {}
    for labels in labels_in_order:
        for label in labels:
            failed = fallback_from(label)
            if failed:
                counts[failed] = counts.get(failed, 0) + 1
                latest_fell_back[failed] = True
            elif (served := hosted_provider(label)) is not None:
                latest_fell_back[served] = False
                counts.setdefault(served, 0)
    return counts, latest_fell_back


class ManifestLabels:
    """The provider labels of each video's manifests, read once per video once it is final."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self._final: dict[str, list[str]] = {}

    def labels(self, video_id: str, status: str) -> list[str]:
        if video_id in self._final:
            return self._final[video_id]
        found: list[str] = []
        for phase in MANIFEST_PHASES:
            key = keys.manifest(video_id, phase)
            try:
                if self._store.exists(key):
                    found += provider_labels(self._store.get_json(key))
            except Exception as exc:  # a manifest being rewritten, or an unreadable one: next scrape
                log.debug("manifest %s unreadable: %s", key, exc)
        if status in FINAL:
            self._final[video_id] = found
        return found

    def forget_except(self, video_ids: set[str]) -> None:
        for video_id in set(self._final) - video_ids:
            del self._final[video_id]


def fallback_facts(engine: Engine, manifests: ManifestLabels, *, now: datetime,
                   window: timedelta) -> tuple[dict[str, int], dict[str, bool]]:
    """provider_use over the videos updated within the window."""
    recent = recent_videos(engine, since=now - window)
    manifests.forget_except({video_id for video_id, _, _ in recent})
    return provider_use(manifests.labels(video_id, status) for video_id, status, _ in recent)


def pool_use(instance: dg.DagsterInstance, pools: Sequence[str]) -> dict[str, PoolUse]:
    """Slot limit and slots in use of each Dagster concurrency pool (0 and 0 for a pool never configured)."""
    out: dict[str, PoolUse] = {}
    for pool in pools:
        info = instance.event_log_storage.get_concurrency_info(pool)
        limit = info.limit if info.limit is not None else info.slot_count
        out[pool] = PoolUse(limit=int(limit or 0), in_use=len(info.claimed_slots))
    return out
