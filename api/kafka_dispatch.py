"""KafkaDispatcher: the outbox relay's hand-off to the pipeline through Kafka.

`dispatch` publishes the outbox row's payload to `video.generation.requests` (key = user id) with the
idempotent producer (acks=all, lz4) and returns only once the broker confirmed it; any failure raises
DispatchError, so the relay keeps the row undelivered and retries it. `cancel` does the same on
`video.generation.cancel`. The pipeline's request and cancel sensors take it from there.

A producer that failed a hand-off, hit a fatal error or lost its broker connection is thrown away and
the next call builds a new one. A broker that restarted has forgotten the old producer's id: librdkafka
then bumps the epoch of that unknown id forever ("unknown producer id", or "a newer producer ... fences
the current one" where the new broker gave the id to another client), so only a new producer, which asks
the broker for a fresh id, recovers. Each instance has its own client.id (`nexus-api-<pid>-<n>`), seen
in the broker's logs.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
from collections.abc import Mapping
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer
from pydantic import ValidationError

from api.dispatch import Dispatcher, DispatchError
from nexus_core.kafka_settings import KafkaSettings
from nexus_core.messages import CancelRequest, GenerationRequest

log = logging.getLogger(__name__)

_instances = itertools.count(1)

# librdkafka errors after which a producer is not trusted again: the connection went (the broker may come
# back without our producer id), or the idempotence state is broken
_LOST = {KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN, KafkaError._FATAL,
         KafkaError.UNKNOWN_PRODUCER_ID, KafkaError.INVALID_PRODUCER_EPOCH, KafkaError.PRODUCER_FENCED,
         KafkaError.OUT_OF_ORDER_SEQUENCE_NUMBER}


class KafkaDispatcher(Dispatcher):
    """Requests and cancels to Kafka; each call waits for the broker's acknowledgement."""

    name = "kafka"

    def __init__(self, settings: KafkaSettings, *, producer: Producer | None = None) -> None:
        self._settings = settings
        self._lock = threading.RLock()
        self._broken: str | None = None  # why the current producer must be replaced before its next use
        self._client_id = ""
        self._producer = producer or self._new_producer()
        self.producers_built = 1

    def _new_producer(self) -> Producer:
        self._client_id = f"nexus-api-{os.getpid()}-{next(_instances)}"
        self._broken = None
        return Producer({**self._settings.producer_config(), "client.id": self._client_id,
                         "error_cb": self._on_error})

    def _on_error(self, err: KafkaError) -> None:
        if err.fatal() or err.code() in _LOST:
            self._broken = err.str()

    def _fresh_producer(self) -> Producer:
        """The producer to use now: a new one when the current one failed or lost its broker."""
        with self._lock:
            self._producer.poll(0)  # serve error callbacks: a connection lost since the last call shows now
            # replaced only with nothing in flight (a failed send purges its message: the relay sends again)
            if self._broken is not None and len(self._producer) == 0:
                reason = self._broken
                self._producer = self._new_producer()
                self.producers_built += 1
                log.warning("Kafka producer replaced by %s (%s)", self._client_id, reason)
            return self._producer

    def _send(self, topic: str, key: bytes, value: bytes) -> None:
        outcome: list[Any] = []

        def delivered(err: Any, msg: Any) -> None:
            outcome.append(err)

        producer = self._fresh_producer()
        try:
            producer.produce(topic, key=key, value=value, on_delivery=delivered)
        except (KafkaException, BufferError) as exc:
            self._give_up(producer, f"produce failed: {exc}")
            raise DispatchError(f"could not queue the message for {topic}: {exc}") from exc
        remaining = producer.flush(self._settings.delivery_timeout_s)
        if remaining or not outcome:
            self._give_up(producer, "a message was not acknowledged")
            raise DispatchError(f"{topic}: not acknowledged within {self._settings.delivery_timeout_s:.1f} s")
        if outcome[0] is not None:
            self._give_up(producer, outcome[0].str())
            raise DispatchError(f"{topic}: {outcome[0].str()}")

    def _give_up(self, producer: Producer, reason: str) -> None:
        """A failed send: its message is dropped from the producer (the relay sends it again) and the
        producer is replaced before the next use."""
        producer.purge()
        producer.poll(0)
        self._broken = reason

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
        """The broker answers a metadata request of the producer in use (a replaced one when it failed)."""
        try:
            self._fresh_producer().list_topics(self._settings.topic_requests, timeout=2.0)
        except KafkaException as exc:
            return False, f"Kafka at {self._settings.bootstrap_servers} unreachable: {exc}"
        return True, "ok"

    def close(self) -> None:
        self._producer.flush(self._settings.delivery_timeout_s)
