"""The pipeline exporter's collector: every source read at each scrape, turned into metric families."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from nexus_cli import metrics_sources as sources
from nexus_core.catalog import Catalog
from nexus_core.kafka_settings import KafkaSettings
from nexus_core.metrics import PartitionLag, PipelineFacts, pipeline_families
from nexus_core.phases import ASSET_PHASE
from nexus_core.settings import NexusSettings

log = logging.getLogger(__name__)


class PipelineCollector(Collector):
    """Reads every source at each scrape; a source that fails is left out (its `up` gauge says so)."""

    def __init__(self, *, catalog: Catalog, instance: dg.DagsterInstance, store: Any, kafka: KafkaSettings,
                 pools: tuple[str, ...], fallback_window: timedelta) -> None:
        self._catalog = catalog
        self._instance = instance
        self._kafka = kafka
        self._pools = pools
        self._window = fallback_window
        self._manifests = sources.ManifestLabels(store)
        self._watermarks: sources.Watermarks | None = None
        self._lock = threading.Lock()  # one scrape at a time: the sources keep state between scrapes

    def _lag(self) -> list[PartitionLag] | None:
        if not self._kafka.enabled:
            return None
        offsets = sources.request_sensor_offsets(self._instance)
        if self._watermarks is None:
            self._watermarks = sources.Watermarks(self._kafka)
        topic = self._kafka.topic_requests
        return sources.lag_of(topic, self._watermarks.read(topic), offsets or {})

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            started = time.perf_counter()
            now = datetime.now(UTC)
            up = GaugeMetricFamily("nexus_exporter_source_up", "1 when the exporter could read the source at "
                                   "this scrape.", labels=["source"])
            try:
                videos = sources.read_videos(self._catalog.engine)
                up.add_metric(["catalog"], 1)
            except Exception as exc:
                log.warning("metrics: cannot read the catalog: %s", exc)
                up.add_metric(["catalog"], 0)
                yield up
                return
            lag = None
            if self._kafka.enabled:
                try:
                    lag = self._lag()
                    up.add_metric(["kafka"], 1)
                except Exception as exc:
                    log.warning("metrics: cannot read the request topic's watermarks: %s", exc)
                    up.add_metric(["kafka"], 0)
            fallbacks: dict[str, int] = {}
            breaker: dict[str, bool] = {}
            try:
                fallbacks, breaker = sources.fallback_facts(self._catalog.engine, self._manifests, now=now,
                                                            window=self._window)
                up.add_metric(["manifests"], 1)
            except Exception as exc:
                log.warning("metrics: cannot read the manifests: %s", exc)
                up.add_metric(["manifests"], 0)
            pools = {}
            try:
                pools = sources.pool_use(self._instance, self._pools)
                up.add_metric(["dagster"], 1)
            except Exception as exc:
                log.warning("metrics: cannot read the concurrency pools: %s", exc)
                up.add_metric(["dagster"], 0)
            facts = PipelineFacts(videos=videos, now=now, lag=lag, fallbacks=fallbacks, breaker_open=breaker,
                                  pools=pools)
            yield from pipeline_families(facts, asset_phase=ASSET_PHASE)
            yield up
            yield GaugeMetricFamily("nexus_exporter_scrape_seconds", "Time this scrape took to read its sources.",
                                    value=time.perf_counter() - started)

    def close(self) -> None:
        if self._watermarks is not None:
            self._watermarks.close()


def build_collector(settings: NexusSettings, *, fallback_window: timedelta) -> PipelineCollector:
    """The collector over this environment's catalog, Dagster instance, object store and broker."""
    from nexus_cli.instance import prepare_instance
    from nexus_core.placement import GPU_POOL_NAME
    from resources import resources_for

    instance = prepare_instance(settings)
    store = resources_for(settings.environment, settings)["store"]
    return PipelineCollector(catalog=Catalog(settings.catalog_url), instance=instance, store=store,
                             kafka=KafkaSettings(), pools=(GPU_POOL_NAME,),
                             fallback_window=fallback_window)
