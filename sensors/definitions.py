"""The sensors, as a Definitions that nexus_assets.definitions merges with the assets (one entry point)."""

from __future__ import annotations

import dagster as dg

from nexus_core.kafka_settings import KafkaSettings
from sensors.cancel import build_cancel_sensor
from sensors.maintenance import build_maintenance_sensors, build_unknown_partition_sensor
from sensors.requests import build_request_sensor
from sensors.run_status import build_run_status_sensors


def build_sensors(kafka: KafkaSettings) -> list[dg.SensorDefinition]:
    """The Kafka path's sensors (requests, cancels, run status, re-submission, retention) when Kafka is
    configured, and always the one that removes partitions naming no video (no broker needed)."""
    sensors = [build_unknown_partition_sensor()]
    if kafka.enabled:
        sensors += [
            build_request_sensor(kafka.sensor_interval_s),
            build_cancel_sensor(kafka.sensor_interval_s),
            *build_run_status_sensors(),
            *build_maintenance_sensors(stuck_interval_s=max(5, min(60, int(kafka.stuck_after_s) or 5))),
        ]
    return sensors


def sensor_definitions(kafka: KafkaSettings) -> dg.Definitions:
    """The sensors alone; their resources (`kafka`, `catalog`, `store`) come from resources.resources_for."""
    return dg.Definitions(sensors=build_sensors(kafka))
