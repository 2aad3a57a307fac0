"""Kafka as a Dagster resource: connection and topic settings, one producer and cached consumers per process.

Sensors read with `read()`: partitions are assigned by hand at the offsets kept in the sensor's cursor (no
consumer-group join, which takes seconds), with a short poll and a bounded batch. `publish()` queues a
message; `flush()` waits for the broker's acks and raises KafkaDeliveryError if any were refused.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import dagster as dg
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from nexus_core.kafka_settings import KafkaSettings

log = logging.getLogger(__name__)

_clients: dict[tuple[Any, ...], Any] = {}
_clients_lock = threading.Lock()


class KafkaDeliveryError(Exception):
    """The broker did not confirm every message in time."""


@dataclass(frozen=True)
class Record:
    """One message read from a topic."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp_ms: int | None


# librdkafka errors after which a producer is not trusted again: its broker connection went (a restarted
# broker has forgotten its producer id and would refuse it for good), or its idempotence state broke
_PRODUCER_LOST = {KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN, KafkaError._FATAL,
                  KafkaError.UNKNOWN_PRODUCER_ID, KafkaError.INVALID_PRODUCER_EPOCH, KafkaError.PRODUCER_FENCED,
                  KafkaError.OUT_OF_ORDER_SEQUENCE_NUMBER}
_producer_serial = itertools.count(1)


class DeliveryTracker:
    """One producer and its delivery reports; `flush()` waits and raises the errors since the last flush.

    `broken` says why the producer must not be used again (a failed flush, a lost connection, a fatal
    error); shared_producer() then builds a new one, which asks the broker for a fresh producer id.
    """

    def __init__(self, config: dict[str, Any]) -> None:
        self.client_id = f"nexus-{os.getpid()}-{next(_producer_serial)}"
        self.broken: str | None = None
        self.producer = Producer({**config, "client.id": self.client_id, "error_cb": self.on_error})
        self._errors: list[str] = []
        self._lock = threading.Lock()

    def on_error(self, err: KafkaError) -> None:
        if err.fatal() or err.code() in _PRODUCER_LOST:
            self.broken = err.str()

    def on_delivery(self, err: KafkaError | None, msg: Any) -> None:
        if err is not None:
            with self._lock:
                self._errors.append(f"{msg.topic()}: {err.str()}")

    def flush(self, timeout_s: float) -> None:
        remaining = self.producer.flush(timeout_s)
        with self._lock:
            errors, self._errors = self._errors, []
        if remaining:
            errors.append(f"{remaining} message(s) not acknowledged within {timeout_s:.1f} s")
        if errors:
            self.broken = errors[0]
            self.producer.purge()  # the caller sends again; this producer is not used after this
            self.producer.poll(0)
            raise KafkaDeliveryError("; ".join(errors[:5]))


def shared_producer(settings: KafkaSettings) -> DeliveryTracker:
    """This process's idempotent producer for the settings' cluster (a forked child makes its own); a
    broken one is replaced once nothing is in flight in it."""
    key = ("producer", os.getpid(), tuple(sorted(settings.producer_config().items())))
    with _clients_lock:
        tracker = _clients.get(key)
        if tracker is not None:
            tracker.producer.poll(0)  # serve error callbacks: a connection lost since the last use shows now
        # replaced only with nothing in flight: a message queued by another caller waits for its own flush
        if tracker is not None and tracker.broken is not None and len(tracker.producer) == 0:
            log.warning("Kafka producer %s replaced (%s)", tracker.client_id, tracker.broken)
            tracker = None
        if tracker is None:
            tracker = _clients[key] = DeliveryTracker(settings.producer_config())
        return tracker


def shared_consumer(settings: KafkaSettings, group: str) -> Consumer:
    """A consumer kept between sensor ticks (its connections stay warm); partitions are assigned per read."""
    key = ("consumer", os.getpid(), group, tuple(sorted(settings.client_config().items())))
    with _clients_lock:
        consumer = _clients.get(key)
        if consumer is None:
            consumer = _clients[key] = Consumer(settings.consumer_config(group))
        return consumer


def close_clients() -> None:
    """Close every cached client of this process (tests, shutdown)."""
    with _clients_lock:
        clients = list(_clients.values())
        _clients.clear()
    for client in clients:
        if isinstance(client, Consumer):
            client.close()
        elif isinstance(client, DeliveryTracker):
            client.producer.flush(1.0)


def read_topic(
    consumer: Consumer,
    topic: str,
    offsets: Mapping[int, int],
    *,
    max_messages: int,
    poll_timeout_s: float,
    budget_s: float,
    metadata_timeout_s: float = 5.0,
) -> tuple[list[Record], dict[int, int]]:
    """Up to max_messages from every partition of topic, from the given next offsets (earliest if unknown).

    Returns the records and the next offset of every partition. A missing topic reads as empty. An offset
    past the end (a broker that lost its data) falls back to the earliest one.
    """
    metadata = consumer.list_topics(topic, timeout=metadata_timeout_s)
    info = metadata.topics.get(topic)
    if info is None or info.error is not None or not info.partitions:
        return [], dict(offsets)
    partitions = sorted(info.partitions)
    positions = {p: int(offsets.get(p, -2)) for p in partitions}  # -2: OFFSET_BEGINNING
    consumer.assign([TopicPartition(topic, p, positions[p]) for p in partitions])
    records: list[Record] = []
    deadline = time.monotonic() + budget_s
    try:
        while len(records) < max_messages and time.monotonic() < deadline:
            # short slices: consume() waits its whole timeout unless the batch fills, so check the ends often
            batch = consumer.consume(min(500, max_messages - len(records)), timeout=min(poll_timeout_s, 0.05))
            for msg in batch:
                err = msg.error()
                if err is not None:
                    if err.code() != KafkaError._PARTITION_EOF:
                        log.warning("reading %s: %s", topic, err.str())
                    continue
                timestamp_type, timestamp = msg.timestamp()
                name, partition, offset = msg.topic(), msg.partition(), msg.offset()
                if name is None or partition is None or offset is None:  # only error messages lack them
                    continue
                records.append(Record(name, partition, offset, msg.key(), msg.value(),
                                      timestamp if timestamp_type else None))
                positions[partition] = offset + 1
            # an end not yet known (a cold consumer still fetching) keeps the loop polling; the cached ends
            # can be older than this tick, so the broker confirms them before the tick stops
            if _caught_up(consumer, topic, positions) and _caught_up(consumer, topic, positions, cached=False):
                break
    finally:
        consumer.unassign()
    return records, positions


def _ends(consumer: Consumer, topic: str, partitions: Iterable[int], *, cached: bool) -> dict[int, tuple[int, int]]:
    """(low, high) watermark of each partition whose end is known (cached: learnt from fetches, no round trip)."""
    ends = {}
    for partition in partitions:
        tp = TopicPartition(topic, partition)
        found = consumer.get_watermark_offsets(tp, cached=True) if cached else \
            consumer.get_watermark_offsets(tp, timeout=2.0, cached=False)
        if found is not None and found[1] >= 0:
            ends[partition] = (int(found[0]), int(found[1]))
    return ends


def _caught_up(consumer: Consumer, topic: str, positions: dict[int, int], *, cached: bool = True) -> bool:
    """Every partition's end is known and reached. A position past the end (a broker that lost its log)
    falls back to the earliest offset, and the partition is read again from there."""
    ends = _ends(consumer, topic, positions, cached=True)
    if not cached:
        # the broker's answer, never below what fetches already showed (Tansu's ListOffsets can lag a batch)
        live = _ends(consumer, topic, positions, cached=False)
        ends = {p: (low, max(high, live.get(p, (low, high))[1])) for p, (low, high) in ends.items()}
    if len(ends) < len(positions):
        return False
    behind = False
    for partition, (low, high) in ends.items():
        if positions[partition] > high and not cached:  # only the broker's own answer, never a cached end
            log.warning("%s[%d]: cursor offset %d is past the log's end %d (the broker lost data?); reading "
                        "from %d", topic, partition, positions[partition], high, low)
            positions[partition] = low
            try:
                consumer.seek(TopicPartition(topic, partition, low))
            except KafkaException:
                consumer.assign([TopicPartition(topic, p, positions[p]) for p in sorted(positions)])
        if max(positions[partition], low) < high:
            behind = True
    return not behind


def ensure_topics(settings: KafkaSettings, *, timeout_s: float = 10.0) -> None:
    """Create the Nexus topics that do not exist yet (local stacks and tests; production provisions them)."""
    admin = AdminClient(settings.client_config())
    existing = set(admin.list_topics(timeout=timeout_s).topics)
    names = [settings.topic_requests, settings.topic_events, settings.topic_cancel, settings.topic_notifications,
             settings.topic_dead_letter]
    wanted = [NewTopic(n, settings.topic_partitions, 1) for n in names if n not in existing]
    if not wanted:
        return
    for name, future in admin.create_topics(wanted, operation_timeout=timeout_s).items():
        try:
            future.result(timeout_s)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise
            log.debug("topic %s already exists", name)


class KafkaResource(dg.ConfigurableResource):
    """The Kafka cluster: connection, security and topic names (see KafkaSettings for each field)."""

    # Built only by from_settings: KafkaSettings holds every default, in one place.
    bootstrap_servers: str
    security_protocol: str
    sasl_mechanism: str | None
    sasl_username: str | None
    sasl_password: str | None
    ssl_ca_location: str | None
    topic_requests: str
    topic_events: str
    topic_cancel: str
    topic_notifications: str
    topic_dead_letter: str
    consumer_batch: int
    poll_timeout_s: float
    tick_budget_s: float
    delivery_timeout_s: float
    stuck_after_s: float
    retention_days: float

    @classmethod
    def from_settings(cls, settings: KafkaSettings) -> KafkaResource:
        if not settings.bootstrap_servers:
            raise ValueError("KAFKA_BOOTSTRAP_SERVERS is not set")
        return cls(**settings.model_dump(include=set(cls.model_fields)))

    def settings(self) -> KafkaSettings:
        return KafkaSettings.model_construct(**{name: getattr(self, name) for name in type(self).model_fields})

    def read(self, topic: str, offsets: Mapping[int, int], *, group: str) -> tuple[list[Record], dict[int, int]]:
        """One bounded read from the cursor's offsets (see read_topic)."""
        return read_topic(shared_consumer(self.settings(), group), topic, offsets, max_messages=self.consumer_batch,
                          poll_timeout_s=self.poll_timeout_s, budget_s=self.tick_budget_s)

    def publish(self, topic: str, *, key: bytes | None, value: bytes) -> None:
        """Queue one message; call flush() before relying on it."""
        tracker = shared_producer(self.settings())
        while True:
            try:
                tracker.producer.produce(topic, key=key, value=value, on_delivery=tracker.on_delivery)
                return
            except BufferError:
                tracker.producer.poll(0.1)  # the local queue is full: let deliveries drain

    def publish_all(self, messages: Iterable[tuple[str, bytes | None, bytes]]) -> int:
        """Queue (topic, key, value) messages and wait for every ack; returns how many."""
        count = 0
        for topic, key, value in messages:
            self.publish(topic, key=key, value=value)
            count += 1
        if count:
            self.flush()
        return count

    def flush(self) -> None:
        shared_producer(self.settings()).flush(self.delivery_timeout_s)
