"""KafkaDispatcher: the outbox relay's hand-off to the pipeline through Kafka.

`dispatch` publishes the outbox row's payload to `video.generation.requests` (key = user id) with the
idempotent producer (acks=all, lz4) and returns only once the broker confirmed it; any failure raises
DispatchError, so the relay keeps the row undelivered and retries it with backoff. `cancel` does the same
on `video.generation.cancel`. The pipeline's request and cancel sensors take it from there.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from confluent_kafka import KafkaException, Producer
from pydantic import ValidationError

from api.dispatch import Dispatcher, DispatchError
from nexus_core.kafka_settings import KafkaSettings
from nexus_core.messages import CancelRequest, GenerationRequest


class KafkaDispatcher(Dispatcher):
    """Requests and cancels to Kafka; each call waits for the broker's acknowledgement."""

    name = "kafka"

    def __init__(self, settings: KafkaSettings, *, producer: Producer | None = None) -> None:
        self._settings = settings
        self._producer = producer or Producer(settings.producer_config())

    def _send(self, topic: str, key: bytes, value: bytes) -> None:
        outcome: list[Any] = []

        def delivered(err: Any, msg: Any) -> None:
            outcome.append(err)

        try:
            self._producer.produce(topic, key=key, value=value, on_delivery=delivered)
        except (KafkaException, BufferError) as exc:
            raise DispatchError(f"could not queue the message for {topic}: {exc}") from exc
        remaining = self._producer.flush(self._settings.delivery_timeout_s)
        if remaining or not outcome:
            raise DispatchError(f"{topic}: not acknowledged within {self._settings.delivery_timeout_s:.1f} s")
        if outcome[0] is not None:
            raise DispatchError(f"{topic}: {outcome[0].str()}")

    def dispatch(self, video_id: str, payload: Mapping[str, Any] | None = None) -> None:
        try:
            message = GenerationRequest.model_validate({**(payload or {}), "video_id": video_id})
        except ValidationError as exc:
            raise DispatchError(f"outbox payload of {video_id} is not a request: {exc}") from exc
        self._send(self._settings.topic_requests, message.key(), message.to_bytes())

    def cancel(self, video_id: str) -> None:
        message = CancelRequest(video_id=video_id)
        self._send(self._settings.topic_cancel, message.key(), message.to_bytes())

    def ready(self) -> tuple[bool, str]:
        try:
            self._producer.list_topics(self._settings.topic_requests, timeout=2.0)
        except KafkaException as exc:
            return False, f"Kafka at {self._settings.bootstrap_servers} unreachable: {exc}"
        return True, "ok"

    def close(self) -> None:
        self._producer.flush(self._settings.delivery_timeout_s)
