"""The sensors of the Kafka path and the resource they share, for the one Definitions."""

from __future__ import annotations

from typing import Any

import dagster as dg

from nexus_core.kafka_settings import KafkaSettings
from resources.kafka import KafkaResource
from sensors.cancel import build_cancel_sensor
from sensors.maintenance import build_maintenance_sensors
from sensors.requests import build_request_sensor
from sensors.run_status import build_run_status_sensors


def kafka_sensors(settings: KafkaSettings) -> tuple[list[dg.SensorDefinition], dict[str, Any]]:
    """(sensors, resources) when Kafka is configured; nothing otherwise (the local default needs no broker)."""
    if not settings.enabled:
        return [], {}
    sensors = [
        build_request_sensor(settings.sensor_interval_s),
        build_cancel_sensor(settings.sensor_interval_s),
        *build_run_status_sensors(),
        *build_maintenance_sensors(stuck_interval_s=max(5, min(60, int(settings.stuck_after_s) or 5))),
    ]
    return sensors, {"kafka": KafkaResource.from_settings(settings)}
