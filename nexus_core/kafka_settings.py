"""Kafka settings (KAFKA_*), in one class: bootstrap servers, SASL/TLS, topic names, consumer batch and poll."""

from __future__ import annotations

import logging
from typing import Any, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# librdkafka's own log lines ("Connect to ... failed: Connection refused", retried every second while a
# broker is away) go to this logger, with our log format and level, instead of straight to stderr; they
# reach it when the client is polled.
CLIENT_LOG = logging.getLogger("nexus.kafka.librdkafka")


class KafkaSettings(BaseSettings):
    """Read once where the code loads (Definitions, the API, `nexus up`); tests build one with values."""

    model_config = SettingsConfigDict(env_prefix="KAFKA_", extra="ignore")

    bootstrap_servers: str | None = Field(default=None, description="host:port[,...]; Kafka is off when unset.")
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: str | None = Field(default=None, description="PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, ...")
    sasl_username: str | None = None
    sasl_password: str | None = None
    ssl_ca_location: str | None = None

    topic_requests: str = "video.generation.requests"
    topic_events: str = "video.generation.events"
    topic_cancel: str = "video.generation.cancel"
    topic_notifications: str = "user.notifications"
    topic_dead_letter: str = "video.generation.requests.dlq"
    topic_partitions: int = Field(default=3, ge=1, description="Partitions of topics that `nexus up` creates.")

    consumer_batch: int = Field(default=500, ge=1, le=10_000, description="Most messages a sensor tick reads.")
    poll_timeout_s: float = Field(default=0.2, gt=0, le=5, description="One poll's wait; a tick never blocks long.")
    tick_budget_s: float = Field(default=2.0, gt=0, le=20, description="Most time a sensor tick spends reading.")
    delivery_timeout_s: float = Field(default=10.0, gt=0, description="How long a producer waits for acks.")
    sensor_interval_s: int = Field(default=1, ge=1)

    stuck_after_s: float = Field(default=300.0, ge=0, description="QUEUED this long with no run: re-submitted.")
    retention_days: float = Field(default=30.0, gt=0, description="Partitions of older final videos are removed.")

    @property
    def enabled(self) -> bool:
        return bool(self.bootstrap_servers)

    def client_config(self) -> dict[str, Any]:
        """The librdkafka settings every client shares (connection and security)."""
        if not self.bootstrap_servers:
            raise ValueError("KAFKA_BOOTSTRAP_SERVERS is not set")
        config: dict[str, Any] = {
            "bootstrap.servers": self.bootstrap_servers,
            "security.protocol": self.security_protocol,
            "logger": CLIENT_LOG,
        }
        if self.sasl_mechanism:
            config["sasl.mechanism"] = self.sasl_mechanism
        if self.sasl_username is not None:
            config["sasl.username"] = self.sasl_username
        if self.sasl_password is not None:
            config["sasl.password"] = self.sasl_password
        if self.ssl_ca_location:
            config["ssl.ca.location"] = self.ssl_ca_location
        return config

    def producer_config(self) -> dict[str, Any]:
        """Idempotent, acks from every in-sync replica, compressed."""
        return {
            **self.client_config(),
            "enable.idempotence": True,
            "acks": "all",
            "compression.type": "lz4",
            "linger.ms": 5,
            "message.timeout.ms": int(self.delivery_timeout_s * 1000),
        }

    def consumer_config(self, group: str) -> dict[str, Any]:
        """Partitions are assigned by hand from the sensor's cursor: the group is never joined or committed."""
        return {
            **self.client_config(),
            "group.id": group,
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "auto.offset.reset": "earliest",
            "enable.partition.eof": False,
            "fetch.wait.max.ms": 20,  # an empty partition answers at once: a tick learns it is caught up fast
        }
