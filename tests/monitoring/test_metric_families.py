"""Catalog rows -> metric families (nexus_core.metrics), and the exporter's pure helpers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

from nexus_cli.metrics_sources import lag_of, provider_labels, provider_use
from nexus_core.metrics import (
    REASONS,
    PartitionLag,
    PipelineFacts,
    PoolUse,
    VideoFacts,
    error_reason,
    fallback_from,
    pipeline_families,
)
from nexus_core.phases import ASSET_PHASE

T0 = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


def _video(status: str, *, queued_s: float | None = 2.0, total_s: float | None = None, phase: str | None = None,
           error: str | None = None, timings: dict[str, float] | None = None) -> VideoFacts:
    return VideoFacts(status=status, phase=phase, error=error, phase_seconds=timings or {}, created_at=T0,
                      started_at=T0 + timedelta(seconds=queued_s) if queued_s is not None else None,
                      completed_at=T0 + timedelta(seconds=total_s) if total_s is not None else None)


class _Fixed(Collector):
    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self):  # type: ignore[no-untyped-def]
        return iter(self.families)


def _exposition(facts: PipelineFacts) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The families as Prometheus would read them: sample name and labels -> value."""
    registry = CollectorRegistry()
    registry.register(_Fixed(pipeline_families(facts, asset_phase=ASSET_PHASE)))
    text = generate_latest(registry).decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_counters_histograms_and_queue_come_from_the_rows() -> None:
    videos = [
        _video("COMPLETED", total_s=25.0, timings={"scenario": 1.5, "scene_images": 2.0, "voiceover": 3.0}),
        _video("COMPLETED", total_s=4000.0),
        _video("FAILED", phase="rendering", error="master: ffmpeg exited with status 1"),
        _video("FAILED", phase="script", error="scenario: scenario check failed: the scenes sum to 9 s"),
        _video("PROCESSING"),
        _video("QUEUED", queued_s=None),
    ]
    samples = _exposition(PipelineFacts(videos=videos, now=T0 + timedelta(seconds=90)))
    assert samples[("video_generation_started_total", ())] == 5
    assert samples[("video_generation_completed_total", ())] == 2
    assert samples[("video_generation_errors_total", (("phase", "rendering"), ("reason", "ffmpeg")))] == 1
    assert samples[("video_generation_errors_total", (("phase", "script"), ("reason", "check_failed")))] == 1
    assert samples[("video_generation_duration_seconds_bucket", (("le", "30.0"),))] == 1
    assert samples[("video_generation_duration_seconds_bucket", (("le", "3600.0"),))] == 1
    assert samples[("video_generation_duration_seconds_bucket", (("le", "7200.0"),))] == 2
    assert samples[("video_generation_duration_seconds_bucket", (("le", "+Inf"),))] == 2
    assert samples[("video_generation_duration_seconds_sum", ())] == 4025.0
    # the three assets are two phases: script (1.5 s) and assets (2 + 3 s)
    assert samples[("video_phase_duration_seconds_sum", (("phase", "assets"),))] == 5.0
    assert samples[("video_phase_duration_seconds_count", (("phase", "script"),))] == 1
    assert samples[("video_queue_wait_seconds_count", ())] == 5
    assert samples[("video_queue_oldest_seconds", ())] == 90.0
    assert ("kafka_consumer_lag", (("partition", "0"), ("topic", "t"))) not in samples  # lag unknown: no series


def test_lag_fallbacks_breakers_and_pools_are_exported() -> None:
    facts = PipelineFacts(videos=[], now=T0, lag=[PartitionLag("requests", 1, 7), PartitionLag("requests", 0, 0)],
                          fallbacks={"openai": 3}, breaker_open={"openai": True, "elevenlabs": False},
                          pools={"gpu": PoolUse(limit=4, in_use=1)})
    samples = _exposition(facts)
    assert samples[("kafka_consumer_lag", (("partition", "1"), ("topic", "requests")))] == 7
    assert samples[("kafka_consumer_lag", (("partition", "0"), ("topic", "requests")))] == 0
    assert samples[("provider_fallbacks_total", (("provider", "openai"),))] == 3
    assert samples[("provider_circuit_open", (("provider", "openai"),))] == 1
    assert samples[("provider_circuit_open", (("provider", "elevenlabs"),))] == 0
    assert samples[("nexus_pool_slots", (("pool", "gpu"),))] == 4
    assert samples[("nexus_pool_slots_in_use", (("pool", "gpu"),))] == 1
    assert samples[("video_queue_oldest_seconds", ())] == 0.0  # an empty queue


def test_error_reasons_are_a_closed_set() -> None:
    assert error_reason("the pipeline process exited with code -9") == "run_died"
    assert error_reason("the pipeline run was interrupted") == "run_died"
    assert error_reason("scene_images: no scenario output for video x: materialize `scenario` first") \
        == "missing_upstream"
    assert error_reason("scenario: HTTP 503 from the provider") == "provider_unavailable"
    assert error_reason("something nobody foresaw") == "error"
    assert error_reason(None) == "none"
    assert {error_reason(text) for text in ("a", "timed out after 30 s", "ffprobe failed")} <= set(REASONS)


def test_fallbacks_are_read_from_provider_labels() -> None:
    label = "template (fallback from openai:gpt-4o-mini: HTTP 503: upstream down)"
    assert fallback_from(label) == "openai"
    assert fallback_from("openai:gpt-4o-mini (cached)") is None
    manifests = [
        ["openai:gpt-4o-mini"],
        provider_labels({"writer": label, "items": [
            {"provider": "espeak-ng"}, {"provider": "synth (fallback from elevenlabs-music:m: HTTP 429)"}]}),
    ]
    counts, latest_open = provider_use(manifests)
    assert counts == {"openai": 1, "elevenlabs-music": 1}
    assert latest_open == {"openai": True, "elevenlabs-music": True}
    counts, latest_open = provider_use([*manifests, ["openai:gpt-4o-mini"]])  # the next video was served
    assert latest_open["openai"] is False and counts["openai"] == 1


def test_lag_is_the_high_watermark_minus_the_cursor() -> None:
    watermarks = {0: (0, 10), 1: (5, 8), 2: (0, 0)}
    lag = lag_of("requests", watermarks, {0: 4})  # partition 1 unread: from its low watermark
    assert lag == [PartitionLag("requests", 0, 6), PartitionLag("requests", 1, 3), PartitionLag("requests", 2, 0)]
