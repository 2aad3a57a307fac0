"""Pipeline metrics computed when Prometheus scrapes (pure: facts read from the catalog, the broker and the
manifests in, Prometheus metric families out).

Run and step pods live for minutes, too short to be scraped; the catalog outlives them and already holds
every video's status, phase, error, phase timings and timestamps. So the counters here are counts of catalog
rows: they only grow while rows are kept (partition retention deleting old rows, or a FAILED video retried,
reads to Prometheus as a counter reset, which rate() and increase() absorb).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric

# End to end, request to finished MP4: a 5 s draft takes ~20 s on two cores, a 10 min HD video can take an
# hour; 3600 is a bound so the P95 > 1 h alert reads a real edge, not an interpolation.
GENERATION_BUCKETS: tuple[float, ...] = (10, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400)
PHASE_BUCKETS: tuple[float, ...] = (0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
QUEUE_BUCKETS: tuple[float, ...] = (0.5, 1, 5, 15, 30, 60, 120, 300, 900, 1800, 3600)

UNKNOWN_PHASE = "unknown"

# Error text -> a small, closed set of reasons (a label must not carry free text: one series per message).
_REASONS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("check_failed", re.compile(r"check failed")),
    ("run_died", re.compile(r"interrupted|exited with code|ended without a final status|killed|signal")),
    ("timeout", re.compile(r"timed? ?out")),
    ("missing_upstream", re.compile(r"materialize .* first|no \S+ output for video")),
    ("provider_unavailable", re.compile(r"circuit open|unavailable|http [45]\d\d|rate.?limit")),
    ("dispatch", re.compile(r"could not start|could not hand|dispatch")),
    ("ffmpeg", re.compile(r"ffmpeg|ffprobe")),
    ("storage", re.compile(r"object store|no such key|s3|storage")),
)
REASONS: tuple[str, ...] = (*(name for name, _ in _REASONS), "error", "none")

# The providers behind a circuit breaker (resources.provider_support.HostedProvider), by label prefix.
HOSTED_PROVIDERS = frozenset({"openai", "elevenlabs", "elevenlabs-music"})

_FALLBACK = re.compile(r"\(fallback from ([^:()\s]+)")


def error_reason(error: str | None) -> str:
    """The reason label of a failure message: one of REASONS ('none' without a message)."""
    if not error:
        return "none"
    text = error.lower()
    return next((name for name, pattern in _REASONS if pattern.search(text)), "error")


def fallback_from(provider_label: str | None) -> str | None:
    """The hosted provider a result fell back from, from its provider label, e.g.
    'template (fallback from openai:gpt-4o-mini: HTTP 503)' -> 'openai'; None for a direct result."""
    if not provider_label:
        return None
    found = _FALLBACK.search(provider_label)
    return found.group(1) if found else None


def hosted_provider(provider_label: str | None) -> str | None:
    """The hosted provider that made a direct result ('openai:gpt-4o-mini (cached)' -> 'openai'); None for an
    embedded engine or a fallback."""
    if not provider_label or fallback_from(provider_label):
        return None
    head = provider_label.partition(":")[0].strip()
    return head if head in HOSTED_PROVIDERS else None


@dataclass(frozen=True)
class VideoFacts:
    """What the metrics need of one catalog row."""

    status: str
    phase: str | None
    error: str | None
    phase_seconds: Mapping[str, float]
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None


@dataclass(frozen=True)
class PartitionLag:
    """Messages of one partition that the request sensor has not read yet (high watermark - its cursor)."""

    topic: str
    partition: int
    lag: int


@dataclass(frozen=True)
class PoolUse:
    """A Dagster concurrency pool: its slot limit and the slots its running steps hold."""

    limit: int
    in_use: int


@dataclass(frozen=True)
class PipelineFacts:
    """Everything one scrape read; `lag` is None when the broker or the sensor's cursor could not be read."""

    videos: Sequence[VideoFacts]
    now: datetime
    lag: Sequence[PartitionLag] | None = None
    fallbacks: Mapping[str, int] = field(default_factory=dict)
    breaker_open: Mapping[str, bool] = field(default_factory=dict)
    pools: Mapping[str, PoolUse] = field(default_factory=dict)


def _histogram(name: str, doc: str, buckets: Sequence[float], values: Iterable[float],
               labels: Sequence[str] = (), label_values: Sequence[str] = ()) -> HistogramMetricFamily:
    family = HistogramMetricFamily(name, doc, labels=list(labels))
    _add_histogram(family, buckets, list(values), label_values)
    return family


def _add_histogram(family: HistogramMetricFamily, buckets: Sequence[float], values: list[float],
                   label_values: Sequence[str] = ()) -> None:
    cumulative = [(_le(bound), sum(1 for v in values if v <= bound)) for bound in buckets]
    cumulative.append(("+Inf", len(values)))
    family.add_metric(list(label_values), [(le, float(count)) for le, count in cumulative], sum_value=sum(values))


def _le(bound: float) -> str:
    return str(float(bound))


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return max(0.0, (end - start).total_seconds())


def pipeline_families(facts: PipelineFacts, *, asset_phase: Mapping[str, str] | None = None) -> list[Metric]:
    """The pipeline's metric families from one scrape's facts.

    Args:
        facts: what the catalog, the broker and the manifests said at this scrape.
        asset_phase: asset name -> phase name; phase timings are recorded per asset and summed per phase.
    """
    videos = facts.videos
    asset_phase = asset_phase or {}
    out: list[Metric] = []

    out.append(CounterMetricFamily(
        "video_generation_started", "Videos whose pipeline started (a first phase began).",
        value=sum(1 for v in videos if v.started_at is not None)))
    out.append(CounterMetricFamily(
        "video_generation_completed", "Videos that reached COMPLETED.",
        value=sum(1 for v in videos if v.status == "COMPLETED")))
    errors = CounterMetricFamily("video_generation_errors", "Videos that FAILED, by the phase they failed in "
                                 "and a reason class of the error.", labels=["phase", "reason"])
    failed = Counter((v.phase or UNKNOWN_PHASE, error_reason(v.error)) for v in videos if v.status == "FAILED")
    for (phase, reason), count in sorted(failed.items()):
        errors.add_metric([phase, reason], count)
    out.append(errors)

    out.append(_histogram(
        "video_generation_duration_seconds", "End to end: request accepted to COMPLETED.", GENERATION_BUCKETS,
        (s for v in videos if v.status == "COMPLETED"
         and (s := _seconds(v.created_at, v.completed_at)) is not None)))

    phase_values: dict[str, list[float]] = {}
    for video in videos:
        per_phase: dict[str, float] = {}
        for asset, seconds in video.phase_seconds.items():
            phase = asset_phase.get(asset, asset)
            per_phase[phase] = per_phase.get(phase, 0.0) + float(seconds)
        for phase, seconds in per_phase.items():
            phase_values.setdefault(phase, []).append(seconds)
    phases = HistogramMetricFamily("video_phase_duration_seconds",
                                   "Work seconds of a phase per video (its assets' times summed).", labels=["phase"])
    for phase in sorted(phase_values):
        _add_histogram(phases, PHASE_BUCKETS, phase_values[phase], [phase])
    out.append(phases)

    out.append(_histogram(
        "video_queue_wait_seconds", "From the request accepted to the first phase starting (QUEUED to PROCESSING).",
        QUEUE_BUCKETS, (s for v in videos if (s := _seconds(v.created_at, v.started_at)) is not None)))
    queued = [v for v in videos if v.status == "QUEUED"]
    out.append(GaugeMetricFamily(
        "video_queue_oldest_seconds", "Age of the oldest QUEUED video (0 when the queue is empty).",
        value=max((_seconds(v.created_at, facts.now) or 0.0 for v in queued), default=0.0)))

    if facts.lag is not None:
        lag = GaugeMetricFamily("kafka_consumer_lag", "Request messages the request sensor has not read yet "
                                "(the partition's high watermark minus the sensor's cursor).",
                                labels=["topic", "partition"])
        for item in sorted(facts.lag, key=lambda x: (x.topic, x.partition)):
            lag.add_metric([item.topic, str(item.partition)], item.lag)
        out.append(lag)

    fallbacks = CounterMetricFamily("provider_fallbacks", "Results an embedded provider made because the hosted "
                                    "one (the label) was unavailable, counted from the phase manifests.",
                                    labels=["provider"])
    for provider, count in sorted(facts.fallbacks.items()):
        fallbacks.add_metric([provider], count)
    out.append(fallbacks)
    breaker = GaugeMetricFamily("provider_circuit_open", "1 when the latest call to this hosted provider that a "
                                "video recorded fell back (its breaker open or the provider failing), else 0.",
                                labels=["provider"])
    for provider, is_open in sorted(facts.breaker_open.items()):
        breaker.add_metric([provider], 1.0 if is_open else 0.0)
    out.append(breaker)

    limit = GaugeMetricFamily("nexus_pool_slots", "Slots of a Dagster concurrency pool (e.g. the GPU steps).",
                              labels=["pool"])
    used = GaugeMetricFamily("nexus_pool_slots_in_use", "Slots of a Dagster concurrency pool held by steps.",
                             labels=["pool"])
    for pool, use in sorted(facts.pools.items()):
        limit.add_metric([pool], use.limit)
        used.add_metric([pool], use.in_use)
    out += [limit, used]
    return out
