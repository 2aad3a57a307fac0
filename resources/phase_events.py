"""Phase events as a resource: a run's phase started / progress / completed, for whoever listens.

`NoPhaseEvents` is the default (no broker needed); `KafkaPhaseEvents` publishes to the events topic.
resources_for picks one from the Kafka settings, read once when the resources are built.
"""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod

import dagster as dg
from confluent_kafka import KafkaException
from pydantic import PrivateAttr

from nexus_core.messages import EventKind, VideoEvent
from resources.kafka import KafkaDeliveryError, KafkaResource, shared_producer

log = logging.getLogger(__name__)

PROGRESS_STEP = 5.0  # percent points between two progress events of a phase, unless a second has passed
PROGRESS_INTERVAL_S = 1.0


class PhaseEvents(dg.ConfigurableResource, ABC):
    """Tells the outside world where a video's run is; best effort (the catalog holds the truth)."""

    @abstractmethod
    def started(self, video_id: str, phase: str, run_id: str | None) -> None:
        """An asset of the phase started."""

    @abstractmethod
    def progress(self, video_id: str, phase: str, percent: float) -> None:
        """Percent done inside the phase (an implementation may skip some)."""

    @abstractmethod
    def finished(self, video_id: str, phase: str, asset: str, *, error: str | None = None) -> None:
        """The asset ended, with the reason when it failed."""


class NoPhaseEvents(PhaseEvents):
    """The default: events go nowhere."""

    def started(self, video_id: str, phase: str, run_id: str | None) -> None:
        return None

    def progress(self, video_id: str, phase: str, percent: float) -> None:
        return None

    def finished(self, video_id: str, phase: str, asset: str, *, error: str | None = None) -> None:
        return None


class KafkaPhaseEvents(PhaseEvents):
    """Publishes a run's phase events to the events topic (progress at most every 5 points or 1 s)."""

    kafka: KafkaResource
    _last: dict[tuple[str, str], tuple[float, float]] = PrivateAttr(default_factory=dict)

    def _send(self, event: VideoEvent) -> None:
        settings = self.kafka.settings()
        try:
            tracker = shared_producer(settings)
            tracker.producer.produce(settings.topic_events, key=event.key(), value=event.to_bytes(),
                                     on_delivery=tracker.on_delivery)
            tracker.producer.poll(0)
        except (KafkaException, BufferError) as exc:  # events are best effort: the catalog has the truth
            log.warning("could not publish %s for %s: %s", event.kind, event.video_id, exc)

    def started(self, video_id: str, phase: str, run_id: str | None) -> None:
        self._last[(video_id, phase)] = (time.monotonic(), 0.0)
        self._send(VideoEvent(video_id=video_id, kind=EventKind.PHASE_STARTED, phase=phase, percent=0.0,
                              run_id=run_id))

    def progress(self, video_id: str, phase: str, percent: float) -> None:
        now = time.monotonic()
        last_t, last_p = self._last.get((video_id, phase), (0.0, -100.0))
        if percent - last_p < PROGRESS_STEP and now - last_t < PROGRESS_INTERVAL_S and percent < 100.0:
            return
        self._last[(video_id, phase)] = (now, percent)
        self._send(VideoEvent(video_id=video_id, kind=EventKind.PROGRESS, phase=phase,
                              percent=min(100.0, max(0.0, percent))))

    def finished(self, video_id: str, phase: str, asset: str, *, error: str | None = None) -> None:
        """Events are flushed so they precede the run's own success or failure event."""
        self._last.pop((video_id, phase), None)
        if error is None:
            self._send(VideoEvent(video_id=video_id, kind=EventKind.PHASE_COMPLETED, phase=phase, percent=100.0))
        settings = self.kafka.settings()
        try:
            shared_producer(settings).flush(min(5.0, settings.delivery_timeout_s))
        except KafkaDeliveryError as exc:
            log.warning("phase events of %s not confirmed: %s", video_id, exc)
